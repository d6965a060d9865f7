"""The sentence encoder: checked files, offline, the model's own vectors, a Rasa component."""

from __future__ import annotations

import asyncio
import shutil
import socket
from pathlib import Path

import numpy as np
import pytest
import yaml
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message

from frontline.nlu.sentence_encoder import (
    DEFAULT_MODEL_FILE,
    DEFAULT_MODEL_PACKAGE,
    DEFAULT_MODEL_SHA256,
    DEFAULT_TOKENIZER_FILE,
    DEFAULT_TOKENIZER_PACKAGE,
    DIMENSION,
    EncoderFileMismatch,
    SentenceEncoder,
    SentenceEncoderFeaturizer,
    packaged_file,
    verified_file,
)
from tests.nlu.minilm_reference import MiniLMReference

TEXTS = [
    "hi",
    "where is my order 482913?",
    "cancle my ordr pls",
    "I want to complain about your terrible service, this is the third time I write",
    "how long do refunds take",
]


@pytest.fixture
def no_network(monkeypatch):
    """Any attempt to open a connection or resolve a name fails the test."""

    def refuse(*args, **kwargs):
        raise AssertionError(f"network access attempted: {args!r}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)


def featurizer(tmp_path, **config) -> SentenceEncoderFeaturizer:
    return SentenceEncoderFeaturizer.create(
        {**SentenceEncoderFeaturizer.get_default_config(), **config},
        LocalModelStorage(tmp_path),
        Resource("encoder"),
        ExecutionContext(GraphSchema({}), "encoder"),
    )


def test_a_weights_file_with_another_digest_is_refused(tmp_path):
    wrong = "0" * 64
    with pytest.raises(EncoderFileMismatch, match=f"expects {wrong}"):
        featurizer(tmp_path, model_sha256=wrong)
    with pytest.raises(EncoderFileMismatch, match="tokenizer.json has sha256"):
        featurizer(tmp_path, tokenizer_sha256=wrong)


def test_a_changed_file_is_refused_by_its_digest(tmp_path, monkeypatch):
    # Same name and package layout, one byte different: the digest notices.
    package = tmp_path / "fake_minilm"
    package.mkdir()
    (package / "__init__.py").write_text("")
    tampered = bytearray(packaged_file(DEFAULT_MODEL_PACKAGE, DEFAULT_MODEL_FILE).read_bytes())
    tampered[-1] ^= 0xFF
    (package / DEFAULT_MODEL_FILE).write_bytes(bytes(tampered))
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(EncoderFileMismatch, match="refusing to build the pipeline"):
        verified_file("fake_minilm", DEFAULT_MODEL_FILE, DEFAULT_MODEL_SHA256)


def test_a_missing_package_or_digest_is_a_clear_error(tmp_path):
    with pytest.raises(EncoderFileMismatch, match="needs the package 'no_such_minilm'"):
        verified_file("no_such_minilm", "model.onnx", DEFAULT_MODEL_SHA256)
    with pytest.raises(EncoderFileMismatch, match="64-digit sha256"):
        featurizer(tmp_path, model_sha256="abc")


def test_features_are_one_dense_sentence_row_per_text_and_deterministic(tmp_path, no_network):
    component = featurizer(tmp_path, scale=2.0)
    messages = [Message(data={TEXT: text}) for text in TEXTS]
    component.process(messages)
    rows = []
    for message in messages:
        sequence, sentence = message.get_dense_features(TEXT)
        assert sequence is None
        assert sentence.features.shape == (1, DIMENSION)
        assert sentence.features.dtype == np.float32
        assert np.isclose(np.linalg.norm(sentence.features), 2.0, atol=1e-4)  # scale
        rows.append(sentence.features[0])
    # The same vectors one by one, in another order, without the cache, in a new session.
    fresh = SentenceEncoder(
        packaged_file(DEFAULT_MODEL_PACKAGE, DEFAULT_MODEL_FILE),
        packaged_file(DEFAULT_TOKENIZER_PACKAGE, DEFAULT_TOKENIZER_FILE),
        cache_size=0,
    )
    for text, row in reversed(list(zip(TEXTS, rows, strict=True))):
        assert np.allclose(fresh.encode([text])[0] * 2.0, row, atol=1e-6)


def test_vectors_match_the_published_fp32_model(no_network):
    """The int8 ONNX weights give the fp32 model's vectors (cosine >= 0.995)."""
    tokenizer_path = packaged_file(DEFAULT_TOKENIZER_PACKAGE, DEFAULT_TOKENIZER_FILE)
    reference = MiniLMReference(tokenizer_path.parent / "model.safetensors")
    encoder = SentenceEncoder.shared(
        packaged_file(DEFAULT_MODEL_PACKAGE, DEFAULT_MODEL_FILE), tokenizer_path
    )
    vectors = encoder.encode(TEXTS)
    for text, vector in zip(TEXTS, vectors, strict=True):
        ids = encoder._tokenizer.encode(text).ids
        assert ids[0] == 101 and ids[-1] == 102  # [CLS] ... [SEP]: the model's own tokenizer
        assert float(vector @ reference.embed(ids)) >= 0.995, text
    # Meaning, not spelling: a paraphrase is nearer than a different request.
    parcel, track, password = encoder.encode(
        ["where is my parcel", "track my package", "reset my password"]
    )
    assert parcel @ track > parcel @ password + 0.2


def test_the_cache_returns_the_computed_vector_and_stays_bounded():
    encoder = SentenceEncoder(
        packaged_file(DEFAULT_MODEL_PACKAGE, DEFAULT_MODEL_FILE),
        packaged_file(DEFAULT_TOKENIZER_PACKAGE, DEFAULT_TOKENIZER_FILE),
        cache_size=2,
    )
    first = encoder.encode(["a", "b", "c", "a"])
    assert list(encoder._cache) == ["b", "c"]
    assert np.array_equal(first[0], first[3])
    assert np.array_equal(encoder.encode(["c"])[0], first[2])


PIPELINE = [
    {"name": "WhitespaceTokenizer"},
    {"name": "CountVectorsFeaturizer"},
    {"name": "frontline.nlu.sentence_encoder.SentenceEncoderFeaturizer"},
    {"name": "frontline.nlu.intent_classifier.ScaledLogisticRegressionClassifier"},
]
NLU = """version: "3.1"
nlu:
- intent: check_order_status
  examples: |
    - where is my order
    - track my order
    - has my order shipped yet
    - when will my order arrive
- intent: reset_password
  examples: |
    - reset my password
    - I forgot my password
    - I can't log in, new password please
    - help me change my password
"""


def write_project(folder: Path, pipeline: list[dict]) -> tuple[Path, Path, Path]:
    config = folder / "config.yml"
    config.write_text(
        yaml.safe_dump(
            {"recipe": "default.v1", "language": "en", "assistant_id": "test", "pipeline": pipeline}
        )
    )
    data = folder / "nlu.yml"
    data.write_text(NLU)
    domain = folder / "domain.yml"
    domain.write_text('version: "3.1"\nintents: [check_order_status, reset_password]\n')
    return config, data, domain


def test_a_model_trains_and_loads_offline_and_understands_unseen_words(tmp_path, monkeypatch):
    from rasa.core.agent import Agent
    from rasa.model_training import train_nlu

    monkeypatch.setenv("RASA_TELEMETRY_ENABLED", "false")
    config, data, domain = write_project(tmp_path, PIPELINE)
    model = train_nlu(str(config), str(data), str(tmp_path / "models"), domain=str(domain))
    assert model

    def refuse(*args, **kwargs):
        raise AssertionError(f"network access attempted: {args!r}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    agent = Agent.load(model)
    # No training example says "parcel" or "passcode": the encoder knows them.
    parcel = asyncio.run(agent.parse_message("where's my parcel"))
    passcode = asyncio.run(agent.parse_message("lost my passcode"))
    assert parcel["intent"]["name"] == "check_order_status"
    assert passcode["intent"]["name"] == "reset_password"


def test_a_model_whose_weights_changed_does_not_load(tmp_path, monkeypatch):
    """The digest is checked at loading too, not only at training."""
    from rasa.core.agent import Agent
    from rasa.model_training import train_nlu

    monkeypatch.setenv("RASA_TELEMETRY_ENABLED", "false")
    package = tmp_path / "copied_minilm"
    package.mkdir()
    (package / "__init__.py").write_text("")
    shutil.copy(packaged_file(DEFAULT_MODEL_PACKAGE, DEFAULT_MODEL_FILE), package / "model.onnx")
    monkeypatch.syspath_prepend(str(tmp_path))
    pipeline = [dict(c) for c in PIPELINE]
    pipeline[2]["model_package"] = "copied_minilm"
    config, data, domain = write_project(tmp_path, pipeline)
    model = train_nlu(str(config), str(data), str(tmp_path / "models"), domain=str(domain))

    with (package / "model.onnx").open("r+b") as handle:
        handle.seek(-1, 2)
        last = handle.read(1)
        handle.seek(-1, 2)
        handle.write(bytes([last[0] ^ 0xFF]))
    SentenceEncoder._instances.clear()
    with pytest.raises(Exception, match="refusing to build the pipeline") as raised:
        Agent.load(model)
    assert isinstance(raised.value, EncoderFileMismatch) or isinstance(
        raised.value.__cause__, EncoderFileMismatch
    )
