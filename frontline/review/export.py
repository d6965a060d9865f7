"""Reviewers' labels become training data: masked, de-duplicated Rasa NLU YAML.

``python -m frontline.review export`` writes one file per intent under the policy's
``export.directory`` (``data/nlu/reviewed/``), rewritten whole each time so designers
review a diff. What it writes:

* the labels that confirm or correct an intent, or mark a message out of scope (new
  intents are proposals for designers, listed in the report, never training data);
* each text masked again and its masked identifiers replaced by neutral stand-ins
  (``policies/review.yml``), so no customer's e-mail, phone or card number is kept;
* each normalised text once.

What it leaves out, and reports: texts that are already training examples (of the same
intent), conflicts (the same text is an example of another intent, or reviewers gave it
two intents), texts of the held-out set (``tests/nlu/holdout.yml``: a reviewed message
never enters it, and a held-out message never enters training), intents the training
data does not have, and retrieval intents without their response key (``faq``). It also
reports near-duplicates across intents (word overlap at least the policy's).
"""

from __future__ import annotations

import logging
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from frontline.masking import mask_text
from frontline.patterns import CARD_IN_TEXT_RE, EMAIL_IN_TEXT_RE, PHONE_IN_TEXT_RE
from frontline.review.inbox import jaccard, words
from frontline.review.policy import ReviewPolicy
from frontline.review.store import Label
from frontline.review.training_data import Example, normalised, read_examples, read_file

logger = logging.getLogger(__name__)

HEADER = (
    "# Written by `python -m frontline.review export` from the review inbox's labels:\n"
    "# masked, de-duplicated, one file per intent. Do not edit by hand; relabel instead.\n"
)
EXPORTED_DECISIONS = ("confirm", "correct", "out_of_scope")
RETRIEVAL_INTENTS = ("faq", "chitchat")
_MASKED_EMAIL = re.compile(r"\S\*\*\*@\S+")
_MASKED_PHONE = re.compile(r"\*\*\*-\*\*\*-\*\*\d{0,2}|(?<!\S)\*\*\*(?!\S)")
_MASKED_CARD = re.compile(r"\*\*\*\* \d{4}")
_BRACKETED = re.compile(r"\[[^\]]*\]")


def export_text(text: str, placeholders: dict[str, str]) -> str:
    """A message as a training example: identifiers masked, then neutral stand-ins."""
    text = mask_text(text) or ""
    text = _MASKED_CARD.sub(placeholders["card"], text)
    text = _MASKED_EMAIL.sub(placeholders["email"], text)
    text = _MASKED_PHONE.sub(placeholders["phone"], text)
    text = _BRACKETED.sub("something", text)  # a field the audit trail replaced: [address]
    return " ".join(text.split())


def holds_personal_data(text: str, placeholders: dict[str, str]) -> bool:
    """Whether an e-mail, phone or card number other than the stand-ins is in ``text``."""
    for pattern in (EMAIL_IN_TEXT_RE, PHONE_IN_TEXT_RE, CARD_IN_TEXT_RE):
        for match in pattern.finditer(text):
            if not any(match.group(0) in stand_in for stand_in in placeholders.values()):
                return True
    return False


@dataclass
class ExportReport:
    """What the export wrote and what it left out (for the designers' review)."""

    written: dict[str, list[str]] = field(default_factory=dict)
    already_present: list[dict[str, str]] = field(default_factory=list)
    conflicts: list[dict[str, Any]] = field(default_factory=list)
    held_out: list[dict[str, str]] = field(default_factory=list)
    unknown_intents: list[dict[str, str]] = field(default_factory=list)
    proposals: dict[str, list[str]] = field(default_factory=dict)
    near_duplicates: list[dict[str, Any]] = field(default_factory=list)
    files: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    def summary(self) -> str:
        examples = sum(len(texts) for texts in self.written.values())
        lines = [
            f"Wrote {examples} examples of {len(self.written)} intents "
            f"({len(self.files)} files).",
            f"Left out: {len(self.already_present)} already training examples, "
            f"{len(self.conflicts)} conflicts, {len(self.held_out)} in the held-out set, "
            f"{len(self.unknown_intents)} of unknown intents.",
            f"New intents proposed: {len(self.proposals)}; "
            f"near-duplicates across intents: {len(self.near_duplicates)}.",
        ]
        for conflict in self.conflicts:
            lines.append(f"  conflict: {conflict['text']!r} {conflict['intents']}")
        for near in self.near_duplicates:
            lines.append(
                f"  near-duplicate: {near['text']!r} ({near['intent']}) ~ "
                f"{near['other_text']!r} ({near['other_intent']}) {near['similarity']}"
            )
        for name, texts in self.proposals.items():
            lines.append(f"  proposed intent {name}: {len(texts)} examples")
        return "\n".join(lines)


def _file_name(intent: str) -> str:
    return intent.replace("/", "__") + ".yml"


def _yaml(intent: str, texts: list[str]) -> str:
    lines = [HEADER.rstrip("\n"), 'version: "3.1"', "nlu:", f"- intent: {intent}", "  examples: |"]
    lines += [f"    - {text}" for text in texts]
    return "\n".join(lines) + "\n"


def plan(
    labels: list[Label],
    training: list[Example],
    holdout: list[Example],
    policy: ReviewPolicy,
) -> ExportReport:
    """Decides what to write (pure: no files touched)."""
    placeholders = dict(policy.placeholders)
    report = ExportReport()
    known = {example.intent for example in training}
    trained: dict[str, set[str]] = defaultdict(set)
    for example in training:
        trained[normalised(example.text)].add(example.intent)
    held = {normalised(example.text) for example in holdout}

    by_text: dict[str, dict[str, str]] = defaultdict(dict)  # normalised -> intent -> text
    for label in sorted(labels, key=lambda item: (item.labelled_at, item.item_key)):
        text = export_text(label.text, placeholders)
        if not text or holds_personal_data(text, placeholders):
            logger.warning("Label %s still holds personal data; left out", label.item_key)
            continue
        if label.decision == "new_intent":
            report.proposals.setdefault(label.intent, [])
            if text not in report.proposals[label.intent]:
                report.proposals[label.intent].append(text)
            continue
        if label.decision not in EXPORTED_DECISIONS:
            continue
        if label.intent in RETRIEVAL_INTENTS or label.intent not in known:
            report.unknown_intents.append({"text": text, "intent": label.intent})
            continue
        by_text[normalised(text)].setdefault(label.intent, text)

    chosen: dict[str, list[str]] = defaultdict(list)
    for key, intents in sorted(by_text.items()):
        text = next(iter(intents.values()))
        others = trained.get(key, set())
        if len(intents) > 1 or others - set(intents):
            report.conflicts.append(
                {
                    "text": text,
                    "intents": sorted(set(intents) | others),
                    "in_training": sorted(others),
                }
            )
        elif key in held:
            report.held_out.append({"text": text, "intent": next(iter(intents))})
        elif others:
            report.already_present.append({"text": text, "intent": next(iter(intents))})
        else:
            chosen[next(iter(intents))].append(text)
    report.written = {intent: sorted(texts) for intent, texts in sorted(chosen.items())}
    report.near_duplicates = near_duplicates(report.written, training, policy)
    return report


def near_duplicates(
    written: dict[str, list[str]], training: list[Example], policy: ReviewPolicy
) -> list[dict[str, Any]]:
    """Written examples very like an example (training or written) of another intent."""
    threshold = policy.near_duplicate_similarity
    pool = [(e.intent, e.text, words(e.text)) for e in training]
    pool += [(intent, text, words(text)) for intent, texts in written.items() for text in texts]
    found = []
    for intent, texts in written.items():
        for text in texts:
            mine = words(text)
            best = max(
                ((jaccard(mine, theirs), other, other_text)
                 for other, other_text, theirs in pool if other != intent),
                default=None,
            )  # fmt: skip
            if best is not None and best[0] >= threshold:
                found.append(
                    {
                        "text": text,
                        "intent": intent,
                        "other_text": best[2],
                        "other_intent": best[1],
                        "similarity": round(best[0], 3),
                    }
                )
    return found


def write(report: ExportReport, directory: Path) -> list[Path]:
    """Writes the planned files; removes earlier exported files no longer planned."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for intent, texts in report.written.items():
        path = directory / _file_name(intent)
        path.write_text(_yaml(intent, texts), encoding="utf-8")
        written.append(path)
    for stale in directory.glob("*.yml"):
        if stale not in written and stale.read_text(encoding="utf-8").startswith(HEADER):
            stale.unlink()
    report.files = [str(path) for path in written]
    return written


def export(
    labels: list[Label],
    data_dir: Path,
    holdout_path: Path,
    policy: ReviewPolicy,
    out_dir: Path,
) -> ExportReport:
    """Plans and writes the export (training data read from ``data_dir`` but ``out_dir``)."""
    training = read_examples(data_dir, exclude=out_dir)
    holdout = read_file(holdout_path) if holdout_path.exists() else []
    report = plan(labels, training, holdout, policy)
    write(report, out_dir)
    return report
