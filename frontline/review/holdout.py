"""Reviewed messages never enter a held-out split.

Messages people reviewed were chosen because the model got them wrong, and their texts
come from production; scoring the model on them would measure the review, not the
model. So:

* the fixed held-out set (``tests/nlu/holdout.yml``) never gets a reviewed text: the
  export leaves those out (:mod:`frontline.review.export`) and a test checks the files;
* cross-validation (``make tune-thresholds``, ``bench/nlu_cv.py``) trains every fold on
  the reviewed examples and predicts none of them: :func:`cv_folds` gives them
  :data:`ALWAYS_TRAINED`; the other examples get the folds they had without them.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from frontline.review.policy import review_policy
from frontline.review.training_data import normalised, read_examples

#: The "fold" of an example that is in every training fold and in no held-out one.
ALWAYS_TRAINED = -1
_DATA_PREFIX = Path("data/nlu")


def reviewed_directory(data_path: Path) -> Path:
    """Where the export writes, under the NLU data folder ``data_path``."""
    return data_path / Path(review_policy().export_directory).relative_to(_DATA_PREFIX)


def reviewed_texts(data_path: Path) -> frozenset[str]:
    """The normalised texts of the reviewed examples under ``data_path``."""
    directory = reviewed_directory(data_path)
    if not data_path.is_dir() or not directory.is_dir():
        return frozenset()
    return frozenset(normalised(example.text) for example in read_examples(directory))


def cv_folds(
    texts: Sequence[str], labels: Sequence[str], folds: int, seed: int, reviewed: frozenset[str]
) -> list[int]:
    """Each example's fold; reviewed ones :data:`ALWAYS_TRAINED`.

    Without reviewed examples this is exactly ``stratified_folds(labels, folds, seed)``.
    """
    from frontline.tools.tune_thresholds import stratified_folds

    candidates = [i for i, text in enumerate(texts) if normalised(text) not in reviewed]
    assignment = [ALWAYS_TRAINED] * len(texts)
    chosen = stratified_folds([labels[i] for i in candidates], folds, seed)
    for index, fold in zip(candidates, chosen, strict=True):
        assignment[index] = fold
    return assignment
