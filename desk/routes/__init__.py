"""The desk's routes, one module per part of the page.

Each module has ``register(app)``, which adds its routes (and any middleware) to the
app; :func:`desk.app.create_app` calls it for every module of :data:`ROUTE_MODULES`.
A route is a plain ``async`` function of the request (and the URL's parameters): it
reads the desk's parts with :func:`desk.context.desk_of` and answers with
:func:`desk.api.json_response`, or raises :class:`desk.api.ApiError`.

Adding a part of the desk (a supervisor view, say) is one new module here, listed
below; ``docs/desk.md`` ("Adding a route") shows one.
"""

from __future__ import annotations

from desk.routes import agents, auth, conversations, insights, metrics, queue, static, verdicts

#: Every route module, registered in this order (``auth`` first: its middleware
#: checks every ``/api/`` request).
ROUTE_MODULES = (auth, static, metrics, queue, agents, conversations, insights, verdicts)
