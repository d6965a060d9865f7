"""The agent desk: where human agents pick up conversations the assistant handed off.

* :mod:`desk.app`: ``create_app``, the Sanic app (the page and its JSON API), built
  from the route modules of :mod:`desk.routes` and one :mod:`desk.context`.
* :mod:`desk.accounts`: agents, hashed passwords and sessions in Frontline's database.
* :mod:`desk.agents`: ``python -m desk.agents``, the command line to manage agents.
* ``python -m desk``: serves the desk.

What agents do with a conversation (claim, reply, resolve, hand back) is in
:mod:`frontline.handoff.desk`, the queue in :mod:`frontline.handoff.queue`.
"""
