"""Labels become training data: ``python -m frontline.review export`` and what it writes."""

from __future__ import annotations

from pathlib import Path

import pytest

from frontline.review.__main__ import main
from frontline.review.export import HEADER
from frontline.review.holdout import ALWAYS_TRAINED, cv_folds, reviewed_directory, reviewed_texts
from frontline.review.store import Label, create
from frontline.review.training_data import normalised, read_examples, read_file
from frontline.settings import PROJECT_ROOT
from frontline.tools.tune_thresholds import stratified_folds

DATA = PROJECT_ROOT / "data" / "nlu"
HOLDOUT = PROJECT_ROOT / "tests" / "nlu" / "holdout.yml"
LABELS = [  # (decision, intent, text as stored)
    ("confirm", "check_order_status", "where is my parcel 482913 email jane.doe@gmail.com"),
    ("confirm", "check_order_status", "Where is my parcel 482913 email j***@gmail.com!"),
    ("correct", "faq/payment_options", "do you take dogecoin at checkout"),
    ("out_of_scope", "out_of_scope", "what's the weather on mars today"),
    ("correct", "cancel_order", "where is my order"),  # a check_order_status example
    ("confirm", "faq/payment_options", "can i pay with bitcoin"),  # in the training data
    ("confirm", "greet", "hey folks"),  # in the held-out set
    ("new_intent", "parcel_insurance", "do you insure parcels, call me on 415 555 0134"),
    ("confirm", "faq", "what are your hours"),  # no response key
    ("correct", "cancel_order", "has my order shipped yet"),  # ~ "has my order shipped"
    ("confirm", "check_order_status", "parcel not here yet"),
    ("correct", "request_return", "parcel not here yet"),  # reviewers disagree
]


def label(number: int, decision: str, intent: str, text: str) -> Label:
    return Label(
        item_key=f"k{number:02d}",
        conversation_id=f"conversation-{number}",
        message_at=1000.0 + number,
        text=text,
        predicted_intent="check_order_status",
        confidence=0.4,
        decision=decision,
        intent=intent,
        model_id="model-1",
        reviewer="rita",
        labelled_at=2000.0 + number,
    )


@pytest.fixture
def exported(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[Path, str, Path]:
    url = f"sqlite:///{tmp_path / 'frontline.db'}"
    store = create({"type": "sql", "url": url})
    for number, values in enumerate(LABELS, start=1):
        store.save_label(label(number, *values))
    out = tmp_path / "reviewed"
    out.mkdir()
    (out / "request_return.yml").write_text(HEADER + "stale export\n")
    (out / "notes.yml").write_text("# written by hand\n")
    report = tmp_path / "report.json"
    status = main(["export", "--database-url", url, "--data", str(DATA), "--holdout",
                   str(HOLDOUT), "--out", str(out), "--report", str(report)])  # fmt: skip
    assert status == 0
    return out, capsys.readouterr().out, report


def test_the_export_writes_masked_deduplicated_examples_one_file_per_intent(exported) -> None:
    out, _, _ = exported

    files = sorted(path.name for path in out.glob("*.yml"))
    assert files == [
        "cancel_order.yml",
        "check_order_status.yml",
        "faq__payment_options.yml",
        "notes.yml",  # not ours: left alone; the stale export is gone
        "out_of_scope.yml",
    ]
    assert (out / "check_order_status.yml").read_text() == (
        HEADER
        + 'version: "3.1"\nnlu:\n- intent: check_order_status\n  examples: |\n'
        + "    - where is my parcel 482913 email someone@example.com\n"
    )
    examples = {(e.intent, e.text) for e in read_examples(out)}  # notes.yml has none
    assert examples == {
        ("check_order_status", "where is my parcel 482913 email someone@example.com"),
        ("faq/payment_options", "do you take dogecoin at checkout"),
        ("out_of_scope", "what's the weather on mars today"),
        ("cancel_order", "has my order shipped yet"),
    }
    everything = "".join(path.read_text() for path in out.glob("*.yml"))
    assert "jane.doe" not in everything and "***" not in everything and "0134" not in everything


def test_the_export_reports_what_it_left_out(exported) -> None:
    _, printed, report_path = exported
    import json

    report = json.loads(report_path.read_text())

    conflicts = {c["text"]: c["intents"] for c in report["conflicts"]}
    assert conflicts == {
        "where is my order": ["cancel_order", "check_order_status"],
        "parcel not here yet": ["check_order_status", "request_return"],
    }
    assert report["already_present"] == [
        {"text": "can i pay with bitcoin", "intent": "faq/payment_options"}
    ]
    assert report["held_out"] == [{"text": "hey folks", "intent": "greet"}]
    assert report["unknown_intents"] == [{"text": "what are your hours", "intent": "faq"}]
    assert report["proposals"] == {
        "parcel_insurance": ["do you insure parcels, call me on 555 0100"]
    }
    near = [(n["text"], n["other_intent"]) for n in report["near_duplicates"]]
    assert ("has my order shipped yet", "check_order_status") in near
    assert "Wrote 4 examples of 4 intents" in printed and "conflict: 'where is my order'" in printed


def test_the_written_files_are_rasa_training_data(exported) -> None:
    from rasa.shared.nlu.training_data.loading import load_data

    out, _, _ = exported
    files = [path for path in sorted(out.glob("*.yml")) if path.name != "notes.yml"]
    intents = [m.get_full_intent() for f in files for m in load_data(str(f)).intent_examples]
    assert sorted(intents) == [
        "cancel_order", "check_order_status", "faq/payment_options", "out_of_scope",
    ]  # fmt: skip


def test_reviewed_examples_are_never_held_out_in_cross_validation(exported) -> None:
    out, _, _ = exported
    reviewed = frozenset(normalised(e.text) for e in read_examples(out))
    texts = [
        "has my order shipped yet",
        "where is my order",
        "hi",
        "what's the weather on mars today",
        "bye",
        "cancel it",
    ]  # fmt: skip # noqa: E501
    labels = [
        "cancel_order",
        "check_order_status",
        "greet",
        "out_of_scope",
        "goodbye",
        "cancel_order",
    ]  # fmt: skip # noqa: E501

    folds = cv_folds(texts, labels, 2, 7, reviewed)

    assert [folds[0], folds[3]] == [ALWAYS_TRAINED, ALWAYS_TRAINED]
    others = [labels[i] for i in (1, 2, 4, 5)]
    assert [folds[i] for i in (1, 2, 4, 5)] == stratified_folds(others, 2, 7)
    assert cv_folds(texts, labels, 2, 7, frozenset()) == stratified_folds(labels, 2, 7)


def test_no_reviewed_example_of_the_repository_is_in_the_held_out_set() -> None:
    held = {normalised(e.text) for e in read_file(HOLDOUT)}
    assert reviewed_directory(DATA) == DATA / "reviewed"
    assert not reviewed_texts(DATA) & held
