"""Choosing fallback thresholds from cross-validated predictions (no training here)."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict

import pytest
import yaml

from frontline.errors import ConfigurationError
from frontline.tools import tune_thresholds as tt
from frontline.tools.tune_thresholds import Outcome, Prediction


def p(expected: str, predicted: str, confidence: float, runner_up: float = 0.0) -> Prediction:
    return Prediction("text", expected, predicted, confidence, runner_up, fold=0)


PREDICTIONS = [
    p("greet", "greet", 0.95, 0.02),
    p("greet", "greet", 0.55, 0.40),  # right but ambiguous
    p("cancel_order", "cancel_order", 0.90, 0.05),
    p("cancel_order", "check_order_status", 0.70, 0.20),  # confident misroute
    p("check_order_status", "check_order_status", 0.80, 0.10),
    p("check_order_status", "cancel_order", 0.45, 0.30),  # unsure misroute
    p("out_of_scope", "out_of_scope", 0.60, 0.30),
    p("out_of_scope", "greet", 0.50, 0.45),
]


def test_stratified_folds_spread_every_label_evenly():
    labels = ["a"] * 10 + ["b"] * 7 + ["c"] * 3
    folds = tt.stratified_folds(labels, 5, seed=1)
    assert Counter(folds) == {0: 4, 1: 4, 2: 4, 3: 4, 4: 4}
    for label in "abc":
        per_fold = Counter(f for f, lab in zip(folds, labels, strict=True) if lab == label)
        assert max(per_fold.values()) - min(per_fold.get(i, 0) for i in range(5)) <= 1


def test_stratified_folds_are_reproducible_and_refuse_one_fold():
    labels = ["a", "b"] * 20
    assert tt.stratified_folds(labels, 4, seed=3) == tt.stratified_folds(labels, 4, seed=3)
    with pytest.raises(ConfigurationError):
        tt.stratified_folds(labels, 1, seed=3)


@pytest.mark.parametrize(
    "threshold, ambiguity, expected",
    [
        (0.3, 0.1, "greet"),
        (0.6, 0.1, "nlu_fallback"),  # below the threshold
        (0.3, 0.2, "nlu_fallback"),  # 0.55 - 0.40 < 0.2: too close to call
        (0.55, 0.15, "greet"),  # equal to both limits: answered, as in Rasa
    ],
)
def test_decide_replays_the_fallback_classifier(threshold, ambiguity, expected):
    assert tt.decide(p("greet", "greet", 0.55, 0.40), threshold, ambiguity) == expected


def test_evaluate_counts_correct_misrouted_fallback_and_out_of_scope():
    outcome = tt.evaluate(PREDICTIONS, threshold=0.5, ambiguity_threshold=0.0)
    # In scope: 6 messages. Correct: greet 0.95, greet 0.55, cancel 0.90, status 0.80.
    assert outcome.correct == pytest.approx(4 / 6)
    assert outcome.misrouted == pytest.approx(1 / 6)  # the 0.70 misroute
    assert outcome.fallback == pytest.approx(1 / 6)  # the 0.45 one
    assert outcome.out_of_scope_caught == pytest.approx(1 / 2)  # the greet 0.50 got through


def test_choose_maximises_correct_answers_within_the_targets():
    outcomes = tt.sweep(PREDICTIONS, thresholds=[0.0, 0.5, 0.75], ambiguities=[0.0, 0.1])
    chosen = tt.choose(outcomes, max_misroute=0.0, min_out_of_scope=1.0)
    assert chosen is not None
    assert chosen.misrouted == 0.0 and chosen.out_of_scope_caught == 1.0
    assert (chosen.threshold, chosen.ambiguity_threshold) == (0.75, 0.0)
    assert chosen.correct == pytest.approx(3 / 6)


def test_choose_prefers_lower_thresholds_on_a_tie():
    same = dict(correct=0.9, misrouted=0.01, fallback=0.09, out_of_scope_caught=0.9)
    outcomes = [Outcome(0.7, 0.1, **same), Outcome(0.5, 0.1, **same), Outcome(0.5, 0.0, **same)]
    assert tt.choose(outcomes, 0.03, 0.85) == Outcome(0.5, 0.0, **same)


def test_wilson_bounds_match_the_textbook_values():
    # 85 of 100, one-sided 95% (z = 1.6449): centre (0.85 + z²/200) / (1 + z²/100) = 0.8408,
    # half-width z * sqrt(0.85 * 0.15 / 100 + z²/40000) / (1 + z²/100) = 0.0587.
    assert tt.wilson_bound(0.85, 100, 0.95, upper=False) == pytest.approx(0.7821, abs=2e-4)
    assert tt.wilson_bound(0.85, 100, 0.95, upper=True) == pytest.approx(0.8995, abs=2e-4)
    assert tt.wilson_bound(0.85, 100, 0.0, upper=False) == 0.85
    assert tt.wilson_bound(0.0, 1000, 0.95, upper=False) == pytest.approx(0.0, abs=1e-12)


def test_a_target_met_only_by_the_estimate_is_not_met_with_confidence():
    barely = Outcome(0.7, 0.0, 0.78, 0.041, 0.179, 0.857, 5265, 1119)
    margin = Outcome(0.75, 0.0, 0.757, 0.034, 0.209, 0.873, 5265, 1119)
    assert tt.choose([barely, margin], 0.05, 0.85) == barely
    assert tt.choose([barely, margin], 0.05, 0.85, confidence=0.95) == margin
    # More messages, narrower interval: the same shares meet the target.
    sure = Outcome(0.7, 0.0, 0.78, 0.041, 0.179, 0.857, 500_000, 100_000)
    assert tt.meets_targets(sure, 0.05, 0.85, confidence=0.95)


def test_choose_returns_none_when_no_pair_meets_the_targets():
    outcomes = tt.sweep(PREDICTIONS, thresholds=[0.0], ambiguities=[0.0])
    assert tt.choose(outcomes, max_misroute=0.0, min_out_of_scope=0.5) is None


def test_cross_validation_config_drops_fallback_and_response_selector(tmp_path):
    config = tmp_path / "config.yml"
    config.write_text(
        yaml.safe_dump(
            {
                "language": "en",
                "pipeline": [
                    {"name": "WhitespaceTokenizer"},
                    {"name": "DIETClassifier", "epochs": 5},
                    {"name": "ResponseSelector"},
                    {"name": "FallbackClassifier", "threshold": 0.4},
                ],
                "policies": [{"name": "RulePolicy"}],
            }
        )
    )
    derived = tt.cross_validation_config(config)
    assert [c["name"] for c in derived["pipeline"]] == ["WhitespaceTokenizer", "DIETClassifier"]
    assert derived["policies"] == []


CONFIG = """\
pipeline:
  - name: DIETClassifier
    epochs: 80
  # Comment about the fallback.
  - name: FallbackClassifier
    # from make tune-thresholds
    threshold: 0.6
    ambiguity_threshold: 0.1
  - name: frontline.nlu.clarifier.ClarificationClassifier
    clarify_threshold: 0.8
    ambiguity_margin: 0.1
policies:
  - name: RulePolicy
    core_fallback_threshold: 0.3
"""


def test_apply_rewrites_only_the_fallback_classifier(tmp_path):
    config = tmp_path / "config.yml"
    config.write_text(CONFIG)
    tt.apply_to_config(config, Outcome(0.45, 0.05, 0.9, 0.02, 0.08, 0.9))
    text = config.read_text()
    assert text == CONFIG.replace("threshold: 0.6", "threshold: 0.45").replace(
        "ambiguity_threshold: 0.1", "ambiguity_threshold: 0.05"
    )
    assert "core_fallback_threshold: 0.3" in text and "# from make tune-thresholds" in text


def test_apply_refuses_a_config_without_fallback_classifier(tmp_path):
    config = tmp_path / "config.yml"
    config.write_text("pipeline:\n  - name: DIETClassifier\n")
    with pytest.raises(ConfigurationError):
        tt.apply_to_config(config, Outcome(0.45, 0.05, 0.9, 0.02, 0.08, 0.9))


def test_apply_bands_writes_the_threshold_and_the_band(tmp_path):
    from frontline.tools.clarification_tuning import BandOutcome

    config = tmp_path / "config.yml"
    config.write_text(CONFIG)
    band = BandOutcome(0.35, 0.85, 0.15, 0.7, 0.2, 0.08, 0.02, 0.25, 0.98, 100, 50)
    tt.apply_bands(config, band)
    assert config.read_text() == (
        CONFIG.replace("threshold: 0.6", "threshold: 0.35")
        .replace("ambiguity_threshold: 0.1", "ambiguity_threshold: 0.0")
        .replace("clarify_threshold: 0.8", "clarify_threshold: 0.85")
        .replace("ambiguity_margin: 0.1", "ambiguity_margin: 0.15")
    )


def test_main_tunes_from_saved_predictions_and_writes_the_figures(tmp_path, capsys):
    saved = tmp_path / "predictions.json"
    saved.write_text(json.dumps({"predictions": [asdict(x) for x in PREDICTIONS]}))
    output = tmp_path / "thresholds.json"
    config = tmp_path / "config.yml"
    config.write_text(CONFIG)
    args = ["--predictions", str(saved), "--output", str(output), "--config", str(config)]
    code = tt.main(
        [*args, "--max-misroute", "0", "--min-out-of-scope", "1", "--apply"] + ["--confidence", "0"]
    )
    assert code == 0
    figures = json.loads(output.read_text())
    chosen = figures["chosen"]
    assert chosen["misrouted"] == 0.0 and chosen["out_of_scope_caught"] == 1.0
    # The clarify band resolves at least what the not-understood threshold alone does.
    assert figures["fallback_only"]["threshold"] == 0.75
    assert chosen["resolved"] >= figures["fallback_only"]["correct"]
    assert figures["examples"] == len(PREDICTIONS)
    text = config.read_text()
    assert f"  threshold: {chosen['threshold']}" in text and "ambiguity_threshold: 0.0" in text
    assert f"clarify_threshold: {chosen['clarify_threshold']}" in text
    assert f"threshold: {chosen['threshold']}" in capsys.readouterr().out


def test_main_fails_when_the_targets_cannot_be_met(tmp_path):
    saved = tmp_path / "predictions.json"
    # Certain and wrong: no threshold below 1 and no question can catch them.
    bad = [p("greet", "cancel_order", 1.0, 0.0), p("out_of_scope", "cancel_order", 1.0, 0.0)]
    saved.write_text(json.dumps({"predictions": [asdict(x) for x in bad]}))
    code = tt.main(["--predictions", str(saved), "--output", str(tmp_path / "t.json")])
    assert code == 1
