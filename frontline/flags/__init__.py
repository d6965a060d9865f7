"""Feature flags and the kill switch, through OpenFeature (docs/decisions/feature-flags.md).

* :mod:`frontline.flags.definitions`: ``policies/flags.yml``, typed and checked.
* :mod:`frontline.flags.evaluation`: one flag for one conversation (pure functions).
* :mod:`frontline.flags.store`: overrides and the kill switch in SQL, with a change counter.
* :mod:`frontline.flags.signal`: how every process notices a change (the counter's row, or
  its copy in Redis when ``REDIS_URL`` is set).
* :mod:`frontline.flags.state`: a process's view, checked once per message.
* :mod:`frontline.flags.provider`: our OpenFeature provider and the client everything uses.
* :mod:`frontline.flags.capabilities`: "may the assistant do this for this customer?",
  with the evidence the audit trail records and the handoff a refusal needs.
* :mod:`frontline.flags.admin`: the audited changes (CLI ``python -m frontline.flags``,
  the desk).

Nothing here connects to a database at import time.
"""
