"""What people add to an outcome record after the fact: an agent's flag on a bot turn.

The flags themselves (which turn, why, by whom) are kept by :mod:`frontline.review`;
the record counts them (``agent_flags``) and lists their reasons
(``agent_flag_reasons``, comma-separated), so the metrics can segment by them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from frontline.outcomes.store import ContactNotFound, OutcomeStoreError
from frontline.outcomes.tables import contact_outcomes

MAX_REASONS_LENGTH = 255


def add_agent_flag(begin: Callable[[], Any], contact_id: str, reason: str, now: float) -> None:
    """Counts one more flag on a contact and adds ``reason`` to its reasons.

    Args:
        begin: Opens a transaction on the outcome store's database.

    Raises:
        ContactNotFound: No such contact.
        ValueError: The reason is empty or holds a comma.
        OutcomeStoreError: The database failed.
    """
    if not isinstance(reason, str) or not reason.strip() or "," in reason:
        raise ValueError("a flag reason is a non-empty code without commas")
    table = contact_outcomes
    try:
        with begin() as connection:
            row = connection.execute(
                sa.select(table.c.agent_flag_reasons).where(table.c.contact_id == contact_id)
            ).first()
            if row is None:
                raise ContactNotFound(f"no outcome record {contact_id!r}")
            reasons = [r for r in (row.agent_flag_reasons or "").split(",") if r]
            if reason not in reasons:
                reasons.append(reason)
            connection.execute(
                table.update()
                .where(table.c.contact_id == contact_id)
                .values(
                    agent_flags=table.c.agent_flags + 1,
                    agent_flag_reasons=",".join(reasons)[:MAX_REASONS_LENGTH],
                    updated_at=now,
                )
            )
    except sa.exc.SQLAlchemyError as exc:
        raise OutcomeStoreError(f"could not flag contact {contact_id}") from exc
