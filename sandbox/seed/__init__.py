"""Deterministic demo data: the same customers, orders and charges on every run.

Everything comes from ``random.Random(SEED)`` and is dated against
:data:`~sandbox.clock.REFERENCE_TIME`, never the wall clock, so two seedings give
identical rows. The first three customers are handcrafted personas that testers
and the docs rely on (``personas.yml``, see ``sandbox/README.md``); the rest is
generated.

* :mod:`sandbox.seed.catalog`: the seed, the sizes, the products, names and weights.
* :mod:`sandbox.seed.builder`: ORM objects from the seeded generator.
* :mod:`sandbox.seed.personas`: the handcrafted customers, from ``personas.yml``.
* :mod:`sandbox.seed.demo`: the whole data set, its rows, seeding and resetting.
"""

from __future__ import annotations

from sandbox.seed.builder import SeedSummary, Timeline, generated_address
from sandbox.seed.catalog import SEED
from sandbox.seed.demo import (
    Rows,
    build_demo_data,
    demo_rows,
    is_empty,
    reset,
    seed,
    seed_if_empty,
)

__all__ = [
    "SEED",
    "Rows",
    "SeedSummary",
    "Timeline",
    "build_demo_data",
    "demo_rows",
    "generated_address",
    "is_empty",
    "reset",
    "seed",
    "seed_if_empty",
]
