"""Seeded, deterministic perturbations of NLU test messages (robustness slices).

    python -m frontline.tools.perturb tests/nlu/holdout.yml --kind typos --out FILE

Each kind changes how a message is written, never what it asks:

- ``typos``: one or two words of four letters or more get a keyboard slip (a letter
  dropped, doubled, swapped with its neighbour, or replaced by a key next to it);
- ``lower_case``: everything in lower case;
- ``no_punctuation``: punctuation removed (apostrophes too: "wheres my order");
- ``fillers``: a filler word or phrase at the start, and one between two words of longer
  messages ("um", "so basically", "like", "you know").

Identifiers (anything with a digit, e-mail addresses) are never changed, so entities keep
their values. The same text, kind and seed always give the same result (the random
generator is seeded from the three), whatever else is perturbed in the run.
"""

from __future__ import annotations

import argparse
import hashlib
import random
import re
import string
from collections.abc import Callable, Sequence
from pathlib import Path

KINDS = ("typos", "lower_case", "no_punctuation", "fillers")
# Neighbouring keys on a US keyboard (letters only).
NEIGHBOURS = {
    "a": "qwsz", "b": "vghn", "c": "xdfv", "d": "serfcx", "e": "wsdr", "f": "drtgvc",
    "g": "ftyhbv", "h": "gyujnb", "i": "ujko", "j": "huikmn", "k": "jiolm", "l": "kop",
    "m": "njk", "n": "bhjm", "o": "iklp", "p": "ol", "q": "wa", "r": "edft", "s": "awedxz",
    "t": "rfgy", "u": "yhji", "v": "cfgb", "w": "qase", "x": "zsdc", "y": "tghu", "z": "asx",
}  # fmt: skip
FILLERS_START = ("um ", "so ", "hey so ", "ok so basically ", "hi, ", "uh, ", "well ")
FILLERS_MIDDLE = ("like", "um", "you know", "basically", "actually", "kinda", "just")
PUNCTUATION = re.compile(f"[{re.escape(string.punctuation.replace('@', ''))}]")
PROTECTED = re.compile(r"\d|@")


def _rng(text: str, kind: str, seed: int) -> random.Random:
    digest = hashlib.sha256(f"{seed}\x00{kind}\x00{text}".encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def _slip(word: str, rng: random.Random) -> str:
    """One keyboard slip inside ``word`` (the first letter stays)."""
    letters = [i for i, c in enumerate(word) if c.isalpha()]
    position = rng.choice(letters[1:] or letters)
    kind = rng.choice(("drop", "double", "swap", "neighbour"))
    char = word[position]
    if kind == "drop":
        return word[:position] + word[position + 1 :]
    if kind == "double":
        return word[:position] + char + word[position:]
    if kind == "swap" and position + 1 < len(word) and word[position + 1].isalpha():
        return word[:position] + word[position + 1] + char + word[position + 2 :]
    near = NEIGHBOURS.get(char.lower())
    if not near:
        return word[:position] + word[position + 1 :]
    replacement = rng.choice(near)
    replacement = replacement.upper() if char.isupper() else replacement
    return word[:position] + replacement + word[position + 1 :]


def typos(text: str, rng: random.Random) -> str:
    words = text.split(" ")
    eligible = [
        i
        for i, w in enumerate(words)
        if sum(c.isalpha() for c in w) >= 4 and not PROTECTED.search(w)
    ]
    if not eligible:
        return text
    for index in rng.sample(eligible, k=min(len(eligible), rng.choice((1, 2)))):
        words[index] = _slip(words[index], rng)
    return " ".join(words)


def lower_case(text: str, rng: random.Random) -> str:
    return text.lower()


def no_punctuation(text: str, rng: random.Random) -> str:
    kept = []
    for word in text.split(" "):
        # Identifiers keep their dots and dashes ("jane.doe@example.com", "59.90").
        if PROTECTED.search(word):
            kept.append(word.strip(string.punctuation.replace("@", "").replace("#", "")))
        else:
            kept.append(PUNCTUATION.sub("", word))
    return re.sub(r"\s+", " ", " ".join(kept)).strip() or text


def fillers(text: str, rng: random.Random) -> str:
    words = text.split(" ")
    if len(words) >= 4:
        at = rng.randrange(1, len(words))
        words.insert(at, rng.choice(FILLERS_MIDDLE))
    return rng.choice(FILLERS_START) + " ".join(words)


PERTURBATIONS: dict[str, Callable[[str, random.Random], str]] = {
    "typos": typos,
    "lower_case": lower_case,
    "no_punctuation": no_punctuation,
    "fillers": fillers,
}


def perturb(text: str, kind: str, seed: int = 17) -> str:
    """``text`` written the ``kind`` way (deterministic for a text, kind and seed)."""
    if kind not in PERTURBATIONS:
        raise ValueError(f"unknown perturbation {kind!r}; one of {', '.join(KINDS)}")
    return PERTURBATIONS[kind](text, _rng(text, kind, seed))


def perturb_examples(
    examples: Sequence[tuple[str, str]], kind: str, seed: int = 17
) -> list[tuple[str, str]]:
    """(text, label) pairs with every text perturbed; labels unchanged."""
    return [(perturb(text, kind, seed), label) for text, label in examples]


def as_nlu_yaml(examples: Sequence[tuple[str, str]]) -> str:
    """Rasa NLU YAML of (text, label) pairs, intents in first-seen order (no annotations)."""
    by_label: dict[str, list[str]] = {}
    for text, label in examples:
        by_label.setdefault(label, []).append(text)
    lines = ['version: "3.1"', "", "nlu:"]
    for label, texts in by_label.items():
        lines += [f"- intent: {label}", "  examples: |"]
        # A literal block: the texts are taken as they are.
        lines += [f"    - {' '.join(t.split())}" for t in texts]
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path, help="Rasa NLU file (e.g. tests/nlu/holdout.yml)")
    parser.add_argument("--kind", choices=KINDS, required=True)
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    from rasa.shared.nlu.training_data.loading import load_data

    data = load_data(str(args.source))
    examples = [(m.get("text"), m.get_full_intent()) for m in data.intent_examples]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(as_nlu_yaml(perturb_examples(examples, args.kind, args.seed)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
