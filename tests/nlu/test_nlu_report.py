"""`make test-nlu` fails below the held-out F1 bars, for intents and for retrieved answers."""

from __future__ import annotations

import json

from frontline.tools import nlu_report


def report(path, macro_f1: float):
    path.write_text(
        json.dumps(
            {
                "greet": {"precision": 1.0, "recall": 1.0, "f1-score": 1.0, "support": 3},
                "accuracy": 0.9,
                "macro avg": {"f1-score": macro_f1},
                "weighted avg": {"f1-score": macro_f1},
            }
        )
    )
    return str(path)


def test_passes_when_both_reports_reach_their_bars(tmp_path, capsys):
    intents = report(tmp_path / "intent.json", 0.9)
    answers = report(tmp_path / "response.json", 0.8)
    args = [intents, "--min-f1", "0.85", "--response-report", answers, "--min-response-f1", "0.75"]
    assert nlu_report.main(args) == 0
    out = capsys.readouterr().out
    assert "intent: accuracy=0.900 macro_f1=0.900" in out and "response selection" in out


def test_fails_when_the_intents_fall_below_the_bar(tmp_path):
    assert nlu_report.main([report(tmp_path / "intent.json", 0.84), "--min-f1", "0.85"]) == 1


def test_fails_when_the_answers_fall_below_their_bar(tmp_path, capsys):
    intents = report(tmp_path / "intent.json", 0.9)
    answers = report(tmp_path / "response.json", 0.7)
    args = [intents, "--min-f1", "0.85", "--response-report", answers, "--min-response-f1", "0.75"]
    assert nlu_report.main(args) == 1
    assert "response selection F1 is below" in capsys.readouterr().err
