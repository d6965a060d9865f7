"""An outcome record for every contact, kept current from the events Rasa publishes.

* :mod:`frontline.outcomes.model`: the outcomes and :class:`OutcomeRecord`.
* :mod:`frontline.outcomes.folding`: events -> contact state (pure).
* :mod:`frontline.outcomes.state`: the state, and the record derived from it.
* :mod:`frontline.outcomes.store` / :mod:`~frontline.outcomes.sql_store`: where
  records and SLO evaluations are kept (``create(config)``:
  :func:`frontline.outcomes.factory.create`).
* :mod:`frontline.outcomes.processor`: batches of events -> saved records.
* :mod:`frontline.outcomes.broker`: the Rasa event broker and its background writer.
* :mod:`frontline.outcomes.policy`: ``policies/outcomes.yml``, ``cost.yml``, ``slo.yml``.
* ``python -m frontline.outcomes rebuild``: the records again, from the tracker store.

Definitions: ``docs/metrics.md``. Nothing here connects to a database at import time.
"""

from frontline.outcomes.model import OUTCOMES, OutcomeRecord

__all__ = ["OUTCOMES", "OutcomeRecord"]
