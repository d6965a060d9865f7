"""Escalation risk after each turn: features, a logistic regression, and its validation.

A :class:`TurnSnapshot` is what is known after a turn of one contact. :func:`fit` trains on
snapshots of finished contacts (label: the contact ended with a person);
:func:`split_by_conversation` keeps all turns of a contact on one side, so validation is
on conversations the model never saw; :func:`early_handoff` measures what handing off at
the first turn whose risk reaches a threshold would have saved (assistant turns spared
for contacts that went to a person anyway) and cost (contacts sent to a person that the
assistant would have resolved, at the per-contact cost of a person from
``policies/cost.yml``).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

FEATURES = (
    "turn_index",
    "first_response_seconds",
    "clarifying_questions",
    "sentiment_trend",
    "backend_calls",
    "fallbacks",
)


@dataclass(frozen=True)
class TurnSnapshot:
    """What is known of a contact after one of its turns."""

    contact_id: str
    turn_index: int
    first_response_seconds: float
    clarifying_questions: int
    sentiment_trend: float
    backend_calls: int
    fallbacks: int
    ended_with_person: bool

    def features(self) -> list[float]:
        return [float(getattr(self, name)) for name in FEATURES]


def fit(snapshots: Sequence[TurnSnapshot], seed: int = 0) -> Any:
    """A standardised logistic regression on the snapshots' features."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000, random_state=seed))
    model.fit([s.features() for s in snapshots], [int(s.ended_with_person) for s in snapshots])
    return model


def risks(model: Any, snapshots: Sequence[TurnSnapshot]) -> list[float]:
    """The predicted probability that each snapshot's contact ends with a person."""
    return [float(p) for p in model.predict_proba([s.features() for s in snapshots])[:, 1]]


def split_by_conversation(
    snapshots: Sequence[TurnSnapshot], held_out_share: float, seed: int
) -> tuple[list[TurnSnapshot], list[TurnSnapshot]]:
    """(train, held out): every turn of a contact on the same side."""
    contacts = sorted({s.contact_id for s in snapshots})
    random.Random(seed).shuffle(contacts)
    held = set(contacts[: round(len(contacts) * held_out_share)])
    return (
        [s for s in snapshots if s.contact_id not in held],
        [s for s in snapshots if s.contact_id in held],
    )


def auc(labels: Sequence[bool], scores: Sequence[float]) -> float:
    """Area under the ROC curve (ties count half); 0.5 when one class is missing."""
    positives = [s for s, y in zip(scores, labels, strict=True) if y]
    negatives = [s for s, y in zip(scores, labels, strict=True) if not y]
    if not positives or not negatives:
        return 0.5
    ranked = sorted((s, y) for s, y in zip(scores, labels, strict=True))
    # Mann-Whitney U with average ranks for ties.
    rank_sum, i = 0.0, 0
    while i < len(ranked):
        j = i
        while j < len(ranked) and ranked[j][0] == ranked[i][0]:
            j += 1
        average = (i + j + 1) / 2
        rank_sum += average * sum(1 for k in range(i, j) if ranked[k][1])
        i = j
    u = rank_sum - len(positives) * (len(positives) + 1) / 2
    return u / (len(positives) * len(negatives))


@dataclass(frozen=True)
class EarlyHandoff:
    """What handing off at the first turn with risk >= threshold would have done."""

    threshold: float
    escalated_contacts: int
    caught: int
    assistant_turns_saved: int
    false_handoffs: int
    false_handoff_cost: float

    def as_dict(self) -> dict[str, float | int]:
        return dict(self.__dict__)


def early_handoff(
    snapshots: Sequence[TurnSnapshot],
    scores: Sequence[float],
    threshold: float,
    person_contact_cost: float,
) -> EarlyHandoff:
    """Counts, per contact, the first turn whose risk reaches ``threshold``."""
    by_contact: dict[str, list[tuple[int, float, bool]]] = {}
    for snapshot, score in zip(snapshots, scores, strict=True):
        by_contact.setdefault(snapshot.contact_id, []).append(
            (snapshot.turn_index, score, snapshot.ended_with_person)
        )
    escalated = caught = saved = false = 0
    for turns in by_contact.values():
        turns.sort()
        person = turns[0][2]
        escalated += int(person)
        first = next((index for index, score, _ in turns if score >= threshold), None)
        if first is None:
            continue
        if person:
            caught += 1
            saved += turns[-1][0] - first
        else:
            false += 1
    return EarlyHandoff(
        threshold, escalated, caught, saved, false, round(false * person_contact_cost, 2)
    )


def generated_contacts(count: int, seed: int) -> list[TurnSnapshot]:
    """Synthetic contacts (no customer data): troubled ones escalate more often."""
    rng = random.Random(seed)
    snapshots = []
    for n in range(count):
        trouble = rng.random()
        turns = rng.randint(2, 9)
        first_response = rng.uniform(0.5, 3.0) + 6.0 * trouble * rng.random()
        clar = fall = calls = 0
        sentiment = 0.0
        ends_with_person = rng.random() < 0.1 + 0.75 * trouble**2
        for turn in range(1, turns + 1):
            clar += int(rng.random() < 0.1 + 0.3 * trouble)
            fall += int(rng.random() < 0.05 + 0.25 * trouble)
            calls += int(rng.random() < 0.3)
            sentiment += rng.gauss(-0.15 * trouble, 0.1)
            snapshots.append(
                TurnSnapshot(
                    f"c{n}", turn, first_response, clar, sentiment, calls, fall, ends_with_person
                )
            )
    return snapshots
