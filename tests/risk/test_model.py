"""The escalation-risk model on generated contacts: AUC, conversation split, early handoff."""

from __future__ import annotations

from frontline.risk.model import (
    TurnSnapshot,
    auc,
    early_handoff,
    fit,
    generated_contacts,
    risks,
    split_by_conversation,
)


def test_auc_by_hand():
    assert auc([True, False], [0.9, 0.1]) == 1.0
    assert auc([True, False], [0.1, 0.9]) == 0.0
    assert auc([True, False, True, False], [0.5, 0.5, 0.8, 0.2]) == 0.875
    assert auc([True, True], [0.1, 0.2]) == 0.5


def test_held_out_conversations_never_share_a_contact_with_training():
    snapshots = generated_contacts(200, seed=1)
    train, held = split_by_conversation(snapshots, 0.25, seed=2)
    assert {s.contact_id for s in train}.isdisjoint({s.contact_id for s in held})
    assert len({s.contact_id for s in held}) == 50


def test_the_model_ranks_troubled_contacts_higher_on_held_out_conversations():
    train, held = split_by_conversation(generated_contacts(1500, seed=3), 0.3, seed=4)
    model = fit(train)
    scores = risks(model, held)
    assert auc([s.ended_with_person for s in held], scores) > 0.7


def _snap(contact, turn, person):
    return TurnSnapshot(contact, turn, 1.0, 0, 0.0, 0, 0, person)


def test_early_handoff_counts_by_hand():
    snaps = [_snap("a", 1, True), _snap("a", 2, True), _snap("a", 3, True)]
    snaps += [_snap("b", 1, False), _snap("b", 2, False)]
    snaps += [_snap("c", 1, True)]
    scores = [0.2, 0.7, 0.9, 0.6, 0.1, 0.3]
    result = early_handoff(snaps, scores, threshold=0.5, person_contact_cost=5.95)
    # a: first >= 0.5 at turn 2 of 3 -> 1 turn saved; b: a false handoff; c: never reached.
    assert result.as_dict() == {
        "threshold": 0.5,
        "escalated_contacts": 2,
        "caught": 1,
        "assistant_turns_saved": 1,
        "false_handoffs": 1,
        "false_handoff_cost": 5.95,
    }
