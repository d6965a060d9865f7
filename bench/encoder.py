"""The sentence encoder's cost per message and in memory, as the Rasa worker runs it.

    python -m bench.encoder [--messages 300] [--model models/frontline.tar.gz]

In a fresh process:

- memory: resident set size after the imports, after the ONNX session and tokenizer are
  loaded and a first batch is encoded, and after every message of the run (with its cache);
- latency per message: texts never seen before, one message at a time, with the
  configuration's thread count (a Rasa worker parses one message per call), p50 / p95;
  the same texts again (answered from the cache); and throughput in training batches.

With ``--model`` (a trained model), the Rasa NLU's own time per message and the
resident memory of a process that loaded the whole model are measured too, in another
fresh process. Texts are the holdout's and the non-native slice's messages. Figures:
``bench/results/encoder.json`` and ``.md``; ``make bench`` prints them with its own.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"


def rss_mb() -> float:
    """This process's resident set size (MB), from /proc."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def texts() -> list[str]:
    import yaml

    found: list[str] = []
    for path in (ROOT / "tests/nlu/holdout.yml", ROOT / "tests/nlu/slices/non_native.yml"):
        for block in yaml.safe_load(path.read_text(encoding="utf-8"))["nlu"]:
            for line in block.get("examples", "").splitlines():
                if line.strip().startswith("- "):
                    found.append(line.strip()[2:])
    return list(dict.fromkeys(found))


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def measure_encoder(count: int, threads: int) -> dict[str, Any]:
    """Runs in a fresh process: memory is counted from after the imports (the module imports
    Rasa's featurizer base class, and with it TensorFlow, which a Rasa worker has anyway)."""
    from frontline.nlu.sentence_encoder import (
        DEFAULT_MODEL_FILE,
        DEFAULT_MODEL_PACKAGE,
        DEFAULT_MODEL_SHA256,
        DEFAULT_TOKENIZER_FILE,
        DEFAULT_TOKENIZER_PACKAGE,
        DEFAULT_TOKENIZER_SHA256,
        SentenceEncoder,
        verified_file,
    )

    before = rss_mb()
    started = time.perf_counter()
    model = verified_file(DEFAULT_MODEL_PACKAGE, DEFAULT_MODEL_FILE, DEFAULT_MODEL_SHA256)
    tokenizer = verified_file(
        DEFAULT_TOKENIZER_PACKAGE, DEFAULT_TOKENIZER_FILE, DEFAULT_TOKENIZER_SHA256
    )
    checked = time.perf_counter() - started
    encoder = SentenceEncoder(model, tokenizer, threads=threads, cache_size=100_000)
    encoder.encode(["warm up the session"])
    loaded_seconds = time.perf_counter() - started
    after_load = rss_mb()
    sample = texts()[:count]
    single = []
    for text in sample:
        began = time.perf_counter()
        encoder.encode([text])
        single.append((time.perf_counter() - began) * 1000)
    cached = []
    for text in sample:
        began = time.perf_counter()
        encoder.encode([text])
        cached.append((time.perf_counter() - began) * 1000)
    after_run = rss_mb()  # before the second session below, which measures batches only
    fresh = SentenceEncoder(model, tokenizer, threads=threads, cache_size=0)
    began = time.perf_counter()
    fresh.encode(sample, batch_size=32)
    batched = time.perf_counter() - began
    return {
        "messages": len(sample),
        "threads": threads,
        "sha256_check_seconds": round(checked, 3),
        "load_seconds": round(loaded_seconds, 3),
        "rss_before_mb": round(before, 1),
        "rss_loaded_mb": round(after_load, 1),
        "rss_after_run_mb": round(after_run, 1),
        "memory_mb": round(after_run - before, 1),
        "latency_ms": {
            "p50": round(statistics.median(single), 2),
            "p95": round(percentile(single, 0.95), 2),
            "mean": round(statistics.fmean(single), 2),
        },
        "cached_latency_ms": {"p50": round(statistics.median(cached), 3)},
        "training_batches_messages_per_second": round(len(sample) / batched, 1),
    }


def measure_model(model: Path, count: int) -> dict[str, Any]:
    """Runs in a fresh process: the whole NLU of a trained model, as a Rasa worker has it."""
    import asyncio

    from rasa.core.agent import Agent

    before = rss_mb()
    agent = Agent.load(str(model))
    sample = texts()[:count]

    async def parse_all() -> list[float]:
        await agent.parse_message("warm up")
        timings = []
        for text in sample:
            began = time.perf_counter()
            await agent.parse_message(text)
            timings.append((time.perf_counter() - began) * 1000)
        return timings

    timings = asyncio.run(parse_all())
    return {
        "model": str(model),
        "model_mb": round(model.stat().st_size / 1e6, 1),
        "rss_before_load_mb": round(before, 1),
        "rss_after_parsing_mb": round(rss_mb(), 1),
        "nlu_latency_ms": {
            "p50": round(statistics.median(timings), 2),
            "p95": round(percentile(timings, 0.95), 2),
        },
    }


def in_fresh_process(function: str, *args: str) -> dict[str, Any]:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "RASA_TELEMETRY_ENABLED": "false"}
    output = subprocess.run(
        [sys.executable, "-m", "bench.encoder", "--child", function, *args],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def markdown(results: dict[str, Any]) -> str:
    encoder = results["encoder"]
    lines = [
        "# Sentence encoder (all-MiniLM-L6-v2, int8 ONNX) per message and in memory",
        "",
        f"`python -m bench.encoder` on {encoder['messages']} holdout and non-native messages, "
        f"{encoder['threads']} thread(s), load average {results['load_average_at_start']:.1f}"
        " at start (a shared 2-core machine).",
        "",
        "| figure | value |",
        "|---|---|",
        f"| latency per new message, p50 / p95 (ms) | {encoder['latency_ms']['p50']} / "
        f"{encoder['latency_ms']['p95']} |",
        f"| latency per cached message, p50 (ms) | {encoder['cached_latency_ms']['p50']} |",
        f"| training batches (messages/s) | {encoder['training_batches_messages_per_second']} |",
        f"| memory of session, tokenizer and cache (MB) | {encoder['memory_mb']} |",
        f"| sha256 check of the files at load (s) | {encoder['sha256_check_seconds']} |",
    ]
    for name, model in results.get("models", {}).items():
        lines.append(
            f"| {name}: NLU per message p50 / p95 (ms) | {model['nlu_latency_ms']['p50']} / "
            f"{model['nlu_latency_ms']['p95']} |"
        )
        lines.append(
            f"| {name}: process memory with the model loaded (MB) | "
            f"{model['rss_after_parsing_mb']} |"
        )
        lines.append(f"| {name}: model file (MB) | {model['model_mb']} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=300)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--model", action="append", default=[], help="NAME=PATH of a model")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        function, *rest = args.child
        if function == "encoder":
            figures = measure_encoder(int(rest[0]), int(rest[1]))
        else:
            figures = measure_model(Path(rest[0]), int(rest[1]))
        print(json.dumps(figures))
        return 0
    results: dict[str, Any] = {"load_average_at_start": os.getloadavg()[0]}
    results["encoder"] = in_fresh_process("encoder", str(args.messages), str(args.threads))
    models = dict(m.split("=", 1) if "=" in m else ("model", m) for m in args.model)
    results["models"] = {
        name: in_fresh_process("model", path, str(args.messages)) for name, path in models.items()
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "encoder.json").write_text(json.dumps(results, indent=2) + "\n")
    (RESULTS / "encoder.md").write_text(markdown(results))
    print(markdown(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
