"""A person's data: erasure on request and retention, in every store that holds it.

* :mod:`frontline.privacy.stores`: what erasure and retention do in each store (the
  tracker, the handoff queue, CSAT, outcome records, the audit trail, our log files, the
  CRM's contact history).
* :mod:`frontline.privacy.erasure`: ``erase --customer`` / ``--conversation``.
* :mod:`frontline.privacy.retention`: ``retain``, the data-handling policy's retention.

Run as ``python -m frontline.privacy erase --customer C1001`` or ``... retain``.
"""
