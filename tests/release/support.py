"""Helpers for the release tests: slice figures and tiny model archives."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path
from typing import Any

SLICES = ("holdout", "typos", "lower_case", "no_punctuation", "fillers", "non_native")


def slice_figures(per_intent: dict[str, dict[str, int]], oos_caught: float = 1.0) -> dict[str, Any]:
    """One slice's summary as frontline.tools.nlu_slices.summarise shapes it."""
    totals = {k: 0 for k in ("first_time", "after_click", "rephrase", "misrouted")}
    for counts in per_intent.values():
        for key in totals:
            totals[key] += counts.get(key, 0)
    n = sum(totals.values())
    shares = {k: v / n for k, v in totals.items()}
    return {
        **shares,
        "resolved": shares["first_time"] + shares["after_click"],
        "out_of_scope_caught": oos_caught,
        "per_intent": per_intent,
    }


def all_slices(per_intent: dict[str, dict[str, int]], **kwargs: Any) -> dict[str, Any]:
    return {name: slice_figures(per_intent, **kwargs) for name in SLICES}


def fake_model(path: Path, model_id: str) -> Path:
    """A gzip tar with the metadata.json of a Rasa model (enough for model ids)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = json.dumps({"model_id": model_id}).encode()
    with tarfile.open(path, "w:gz") as archive:
        info = tarfile.TarInfo("metadata.json")
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
    return path
