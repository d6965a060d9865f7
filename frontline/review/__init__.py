"""The review loop: people look at what the assistant got wrong, and their labels become
training data.

* :mod:`frontline.review.policy`: ``policies/review.yml`` (signals, weights, labels).
* :mod:`frontline.review.sources`: customer messages from the audit trail's decision
  records, contacts from the outcome records.
* :mod:`frontline.review.inbox`: signals, groups of similar messages, ranking by impact.
* :mod:`frontline.review.store`: labels, verdicts and agents' flags in SQL.
* :mod:`frontline.review.service`: what the desk does (each write audited).
* :mod:`frontline.review.export`: ``python -m frontline.review export``.

Decision note: ``docs/decisions/review-loop.md``. Nothing connects at import time.
"""
