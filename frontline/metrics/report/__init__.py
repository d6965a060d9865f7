"""``make report``: a self-contained static HTML report of the outcome records.

    python -m frontline.metrics.report --since 2026-11-01 --until 2026-11-08 \
        --out results/report.html

See :mod:`frontline.metrics.report.html` for its sections; everything is computed by
:func:`frontline.metrics.summary.compute_metrics` from the database, so the same range
gives the same report.
"""
