"""Gated retraining and the canary of a candidate model (issue 19, items 4 and 9).

* :mod:`frontline.release.policy`: the typed view of ``policies/release.yml``.
* :mod:`frontline.release.gate`: the pure comparison of a candidate with production.
* :mod:`frontline.release.registry`: ``models/production.json`` and model ids.
* :mod:`frontline.release.candidate`: ``make candidate``'s steps, each injectable.
* ``python -m frontline.release candidate|promote|rollback|status``.

Nothing here connects to a database or loads Rasa at import time.
"""
