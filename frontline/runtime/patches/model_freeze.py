"""A loaded model left out of the garbage collector's full passes (``gc.freeze``).

Why a patch: a loaded model is about half a million Python objects (vocabularies, the
TensorFlow graph, the policies' lookup tables) that live as long as the model. Python's
full collection walks all of them each time, a pause of 150-350 ms for every
conversation the server is serving. Rasa offers no hook after a model is loaded, so
``Agent.load_model`` (the first load and every replacement from a model server) is
wrapped: ``gc.unfreeze`` first hands a model being replaced back to the collector, a
collection frees it, and what survives (the new model and the server's own objects) is
frozen. Nothing Rasa computes changes; only when the collector looks.
"""

from __future__ import annotations

import functools
import gc
import logging
from collections.abc import Callable
from typing import Any

from rasa.core.agent import Agent

from frontline.runtime.patch import Patch

logger = logging.getLogger(__name__)


def freeze_after_load(load_model: Callable[..., None]) -> Callable[..., None]:
    """``Agent.load_model`` that leaves the loaded model out of later full collections."""

    @functools.wraps(load_model)
    def load_and_freeze(self: Any, *args: Any, **kwargs: Any) -> None:
        load_model(self, *args, **kwargs)
        gc.unfreeze()
        gc.collect()
        gc.freeze()
        logger.debug("Froze %d objects of the loaded model.", gc.get_freeze_count())

    return load_and_freeze


PATCH = Patch(
    name="model_freeze",
    reason=__doc__,
    guarded_by={
        "tests/runtime/test_model_freeze.py": (
            "test_a_loaded_model_is_left_out_of_later_collections",
            "test_a_replaced_model_is_freed_not_kept_frozen",
            "test_the_wrapper_passes_every_argument_to_rasas_load_model",
        ),
    },
    versions={"rasa": "3.6.21"},
    replacements={"rasa.core.agent:Agent.load_model": freeze_after_load(Agent.load_model)},
)
