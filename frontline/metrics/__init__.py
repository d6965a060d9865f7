"""Metrics over the outcome records: what a customer-service leader asks of the assistant.

* :func:`frontline.metrics.summary.compute_metrics`: every metric of a date range,
  overall and by channel, tier, interaction type, model version and policy version
  (resolution, containment, automation, FCR, CSAT top-2-box / mean / coverage, AHT of
  the assistant and of people, queue waits, cost per contact and savings, escalation
  rate by reason, "could have handled", confidence distribution, failed backend calls,
  action completion, the impact matrix and impact scores, SLO state);
* :mod:`frontline.metrics.compute`, :mod:`~frontline.metrics.cost`,
  :mod:`~frontline.metrics.impact`, :mod:`~frontline.metrics.intervals`: the pure
  formulas (tested against hand-computed values);
* :mod:`frontline.metrics.aggregate`: the SQL sums they are made of;
* :mod:`frontline.metrics.slo`: SLOs judged on a rolling window;
* :mod:`frontline.metrics.prometheus`: ``/metrics`` for the three servers;
* ``python -m frontline.metrics.report``: the static HTML report (``make report``).

Every definition: ``docs/metrics.md``.
"""
