"""The tamper-evident audit trail: a rationale for every decision, kept where no one can
quietly edit it.

* :mod:`frontline.audit.chain`: canonical JSON and the hash chain.
* :mod:`frontline.audit.store`: the append-only SQL store and its verification.
* :mod:`frontline.audit.decisions`: decision records from Rasa's tracker events.
* :mod:`frontline.audit.broker`: the Rasa event broker that writes them.
* ``python -m frontline.audit verify``: checks a chain and names the first bad record.

Nothing here connects to a database at import time.
"""

from frontline.audit.store import AuditStore, BadRecord, NewRecord, StoredRecord, Verification

__all__ = ["AuditStore", "BadRecord", "NewRecord", "StoredRecord", "Verification"]
