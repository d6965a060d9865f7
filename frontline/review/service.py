"""What people do in the review loop: read the inbox, label, judge, flag; every write audited.

Each write checks its request (known messages, decisions, intents, reasons), writes
idempotently (:mod:`frontline.review.store`), then appends one audit record (``kind``
``review_label``, ``review_verdict`` or ``review_flag``) when something changed, and
returns what it did. A flag and a "could have handled" verdict also annotate the
contact's outcome record.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from frontline.audit.store import AuditStore, NewRecord
from frontline.outcomes.model import OutcomeRecord
from frontline.outcomes.sql_store import SqlOutcomeStore
from frontline.outcomes.store import OutcomeStore
from frontline.review import training_data
from frontline.review.inbox import build_items, group_items
from frontline.review.policy import DECISIONS, OUT_OF_SCOPE_INTENT, ReviewPolicy, review_policy
from frontline.review.sources import Message, masked, messages_from_decisions, read_decisions
from frontline.review.store import Flag, Label, SqlReviewStore, Verdict
from frontline.review.store import create as create_store
from frontline.settings import PROJECT_ROOT, Settings

logger = logging.getLogger(__name__)

LABEL_KIND = "review_label"
VERDICT_KIND = "review_verdict"
FLAG_KIND = "review_flag"
MAX_KEYS = 500
MAX_NOTE_LENGTH = 500
MAX_CONVERSATION_ID_LENGTH = 255
NEW_INTENT_RE = re.compile(r"^[a-z][a-z0-9_]{2,48}$")
#: Contacts read per signal from the outcome records at most.
MAX_CONTACTS = 1000


@dataclass
class ReviewService:
    """The review loop over one database.

    Args:
        store: Labels, verdicts, flags.
        outcomes: The outcome records.
        audit: The audit chain the writes are recorded in.
        database_url: Where the audit trail's decision records are read.
        policy: ``policies/review.yml``.
        data_dir: The NLU training data (intents a message may be corrected to).
        clock: Seconds since the epoch.
    """

    store: SqlReviewStore
    outcomes: OutcomeStore
    audit: AuditStore
    database_url: str
    policy: ReviewPolicy
    data_dir: Path = PROJECT_ROOT / "data" / "nlu"
    clock: Callable[[], float] = time.time
    _intents: list[str] = field(default_factory=list, init=False, repr=False)

    # -- reading -----------------------------------------------------------------------

    @property
    def intents(self) -> list[str]:
        """The intents a message may be labelled with (the training data's, full names)."""
        if not self._intents:
            self._intents = training_data.intents(training_data.read_examples(self.data_dir))
        return self._intents

    def messages(self) -> list[Message]:
        """The customer messages of the policy's window, oldest first."""
        since = self.clock() - self.policy.window_seconds
        decisions = read_decisions(
            self.database_url, self.audit.chain, since, self.policy.max_messages
        )
        return messages_from_decisions(decisions)

    def _contacts(self, since: float) -> list[OutcomeRecord]:
        found: dict[str, OutcomeRecord] = {}
        scores = list(range(1, self.policy.csat_at_most + 1))
        for where in (
            {"csat_score": scores},
            {"followed_by_repeat": True},
            {"could_have_handled": True},
        ):
            for record in self.outcomes.search(since=since, where=where, limit=MAX_CONTACTS):
                found[record.contact_id] = record
        return list(found.values())

    def inbox(self, *, max_groups: int = 50, max_items: int = 20) -> dict[str, Any]:
        """The groups to review, highest impact first, and what a reviewer may answer."""
        since = self.clock() - self.policy.window_seconds
        messages = self.messages()
        items = build_items(
            messages,
            self._contacts(since),
            self.store.flags(since=since),
            self.store.verdicts(),
            set(self.store.labels([m.key for m in messages])),
            self.policy,
            self.policy.flag_reasons,
        )
        groups = group_items(items, self.policy.group_similarity)
        return {
            "groups": [group.card(max_items) for group in groups[:max_groups]],
            "total_groups": len(groups),
            "total_items": len(items),
            "messages_read": len(messages),
            "window_days": round(self.policy.window_seconds / 86_400),
            "weights": dict(self.policy.weights),
            "intents": self.intents,
            "decisions": list(DECISIONS),
            "verdicts": dict(self.policy.verdicts),
            "flag_reasons": dict(self.policy.flag_reasons),
        }

    # -- writing -----------------------------------------------------------------------

    def _record(self, kind: str, payload: dict[str, Any], conversation_id: str | None) -> None:
        self.audit.append([NewRecord(kind, payload, conversation_id)])

    def label(
        self, reviewer: str, keys: Sequence[str], decision: str, intent: str | None = None
    ) -> dict[str, Any]:
        """Labels messages (a group, or one): confirm, correct, out of scope, new intent.

        Raises:
            ValueError: Unknown decision, intent or message; no keys, or too many.
        """
        if decision not in DECISIONS:
            raise ValueError(f"decision must be one of {', '.join(DECISIONS)}")
        if not isinstance(keys, list) or not keys or len(keys) > MAX_KEYS:
            raise ValueError(f"give 1 to {MAX_KEYS} message keys")
        if not all(isinstance(key, str) for key in keys):
            raise ValueError("message keys are strings")
        target = self._target_intent(decision, intent)
        known = {m.key: m for m in self.messages()}
        missing = [key for key in keys if key not in known]
        if missing:
            raise ValueError(f"{len(missing)} message(s) are not in the review window")
        now = self.clock()
        changed = []
        for key in dict.fromkeys(keys):
            message = known[key]
            final = target or message.intent
            if not final:
                raise ValueError("the assistant recognised no intent here: correct it instead")
            label = Label(
                item_key=key,
                conversation_id=message.conversation_id,
                message_at=message.at,
                text=masked(message.text),
                predicted_intent=message.intent,
                confidence=message.confidence,
                decision=decision,
                intent=final,
                model_id=message.model_id,
                reviewer=reviewer,
                labelled_at=now,
            )
            if self.store.save_label(label):
                changed.append(label)
        if changed:
            payload = {
                "reviewer": reviewer,
                "decision": decision,
                "intents": sorted({label.intent for label in changed}),
                "predicted": sorted({label.predicted_intent or "" for label in changed}),
                "keys": [label.item_key for label in changed],
                "models": sorted({label.model_id or "" for label in changed}),
            }
            conversations = {label.conversation_id for label in changed}
            only = next(iter(conversations)) if len(conversations) == 1 else None
            self._record(LABEL_KIND, payload, only)
        return {"labelled": len(set(keys)), "changed": len(changed), "decision": decision}

    def _target_intent(self, decision: str, intent: str | None) -> str | None:
        if decision == "confirm":
            return None
        if decision == "out_of_scope":
            return OUT_OF_SCOPE_INTENT
        if not isinstance(intent, str) or not intent:
            raise ValueError("name the intent")
        if decision == "correct":
            if intent not in self.intents:
                raise ValueError(f"unknown intent {intent!r}")
            return intent
        if not NEW_INTENT_RE.match(intent):
            raise ValueError("a new intent's name is 3-49 lower-case letters, digits, '_'")
        if intent in {name.split("/")[0] for name in self.intents}:
            raise ValueError(f"{intent!r} exists already: correct to it instead")
        return intent

    def verdict(
        self, reviewer: str, conversation_id: str, verdict: str, note: str | None = None
    ) -> dict[str, Any]:
        """Records a verdict on a conversation ("could have handled", ...).

        Raises:
            ValueError: Unknown verdict or conversation, or a bad note.
        """
        if verdict not in self.policy.verdicts:
            raise ValueError(f"verdict must be one of {', '.join(self.policy.verdicts)}")
        note = _note(note)
        if not isinstance(conversation_id, str) or not conversation_id:
            raise ValueError("name the conversation")
        if conversation_id not in {m.conversation_id for m in self.messages()}:
            raise ValueError("the conversation is not in the review window")
        contact = _latest(self.outcomes.for_conversation(conversation_id), None)
        now = self.clock()
        contact_id = contact.contact_id if contact is not None else None
        row = Verdict(conversation_id, verdict, reviewer, contact_id, note, now)
        changed = self.store.save_verdict(row)
        if changed:
            if verdict == "could_have_handled" and contact is not None:
                self.outcomes.mark_could_have_handled(
                    contact.contact_id, reviewer, True, note or "review inbox", now
                )
            self._record(VERDICT_KIND, row.as_dict(), conversation_id)
        return {"verdict": verdict, "changed": changed, "contact_id": row.contact_id}

    def flag(
        self,
        agent: str,
        conversation_id: str,
        turn_at: float,
        bot_text: str,
        reason: str,
        note: str | None = None,
        entry_id: str | None = None,
    ) -> dict[str, Any]:
        """Records an agent's flag on one of the assistant's turns.

        Raises:
            ValueError: Unknown reason, or a bad note.
        """
        if reason not in self.policy.flag_reasons:
            raise ValueError(f"reason must be one of {', '.join(self.policy.flag_reasons)}")
        note = _note(note)
        if not conversation_id or len(conversation_id) > MAX_CONVERSATION_ID_LENGTH:
            raise ValueError("name the conversation")
        contact = _latest(self.outcomes.for_conversation(conversation_id), turn_at)
        row = Flag(
            conversation_id=conversation_id,
            turn_at=float(turn_at),
            agent=agent,
            entry_id=entry_id,
            contact_id=contact.contact_id if contact else None,
            bot_text=masked(bot_text),
            reason=reason,
            note=note,
            flagged_at=self.clock(),
        )
        changed = self.store.save_flag(row)
        if changed:
            if contact is not None:
                self.outcomes.mark_agent_flag(contact.contact_id, reason, row.flagged_at)
            self._record(FLAG_KIND, row.as_dict(), conversation_id)
        return {"flag": row.as_dict(), "changed": changed}


def _note(note: Any) -> str | None:
    if note is None or note == "":
        return None
    if not isinstance(note, str) or len(note) > MAX_NOTE_LENGTH:
        raise ValueError(f"a note is text of at most {MAX_NOTE_LENGTH} characters")
    return masked(note) or None


def _latest(records: list[OutcomeRecord], before: float | None) -> OutcomeRecord | None:
    """The conversation's latest contact (that started by ``before``)."""
    eligible = [r for r in records if before is None or r.started_at <= before + 1.0]
    return eligible[-1] if eligible else None


def create_from_settings(settings: Settings, *, audit: AuditStore | None = None) -> ReviewService:
    """The review loop over Frontline's own database (``FRONTLINE_DATABASE_URL``)."""
    url = settings.database_url
    return ReviewService(
        store=create_store({"type": "sql", "url": url}),
        outcomes=SqlOutcomeStore(url),
        audit=audit or AuditStore(url, settings.audit_chain),
        database_url=url,
        policy=review_policy(settings.policies_dir),
    )
