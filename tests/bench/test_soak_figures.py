"""The soak's latency comparison (bench/soak.py), on turns made up for the purpose."""

from __future__ import annotations

import random

from bench.soak import CYCLE, MeasuredTurn, first_against_last, fitted_growth, latency_by_cycle


def _turns(at: float, cycle: int, milliseconds: float, count: int = 5) -> list[MeasuredTurn]:
    return [
        MeasuredTurn(at + i, cycle * CYCLE + i % CYCLE, milliseconds / 1000) for i in range(count)
    ]


def test_a_machine_that_slows_down_counts_against_the_last_cycle_only_over_the_whole_run():
    # Early in the run the machine answers in 20 ms; later in 30 ms, young and old alike.
    turns = (
        _turns(0, cycle=0, milliseconds=20)
        + _turns(100, cycle=0, milliseconds=30)
        + _turns(100, cycle=1, milliseconds=30)
    )
    whole_run = latency_by_cycle(turns, cycles=2)
    same_period = latency_by_cycle(turns, cycles=2, since=100)

    assert whole_run["turns"] == [10, 5]
    assert first_against_last(whole_run, 1)["late_vs_first_pct"] == 20.0  # 25 ms -> 30 ms
    assert same_period["turns"] == [5, 5]
    assert first_against_last(same_period, 1) == {
        "first_cycle_ms": 30.0,
        "last_cycle_ms": 30.0,
        "late_vs_first_pct": 0.0,
        "first_cycle_median_ms": 30.0,
        "last_cycle_median_ms": 30.0,
        "late_vs_first_median_pct": 0.0,
    }


def test_turns_beyond_the_last_cycle_and_empty_cycles_are_reported_as_such():
    turns = _turns(0, cycle=0, milliseconds=10) + _turns(0, cycle=3, milliseconds=10)
    figures = latency_by_cycle(turns, cycles=2)
    assert figures == {"mean_ms": [10.0, 0], "median_ms": [10.0, 0], "turns": [5, 0]}


def test_the_fit_finds_growth_with_the_conversation_apart_from_drift_over_the_run():
    rng = random.Random(3)
    levels = [40.0, 36.0, 23.0, 17.0, 17.0]  # each position of the cycle costs its own
    turns = []
    for conversation in range(60):
        start = conversation * 20.0
        for index in range(200):
            at = start + index * 2.0
            # +2 ms by turn 200 (~8% of the 26.6 ms average), +5 ms over the whole run.
            ms = levels[index % CYCLE] + 0.01 * index + at / 1000 + rng.gauss(0, 3)
            turns.append(MeasuredTurn(at, index, ms / 1000))

    fitted = fitted_growth(turns, at_turn=200, resamples=100)

    expected = 0.01 * 199 / (sum(levels) / len(levels)) * 100
    low, high = fitted["interval_95_pct"]
    assert low < expected < high
    assert abs(fitted["growth_pct"] - expected) < 1.0
