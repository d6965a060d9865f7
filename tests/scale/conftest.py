"""Scale-out topologies for the tests: two Rasa instances behind nginx, two workers."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator

import pytest

from tests.support.processes import REPO_ROOT
from tests.support.servers import POSTGRES_URL, REDIS_URL, require_server
from tests.support.topology import Topology, deployment, fresh_postgres_database

MODEL = REPO_ROOT / "models" / "frontline.tar.gz"
TOKEN = "scale-" + uuid.uuid4().hex


@pytest.fixture(scope="module")
def tracker_database() -> Iterator[str]:
    """A fresh PostgreSQL database for the tracker store, dropped afterwards."""
    with fresh_postgres_database(require_server(POSTGRES_URL, "PostgreSQL"), "scale") as url:
        yield url


@pytest.fixture(scope="module", params=["two_instances", "two_workers"])
def topology(request, tracker_database, tmp_path_factory) -> Iterator[Topology]:
    if not MODEL.exists():
        pytest.fail(f"{MODEL} is missing: run `make train` first")
    if request.param == "two_instances" and not shutil.which("nginx"):
        pytest.fail("nginx is needed (make test-deps installs Debian's nginx-light)")
    with deployment(
        request.param,
        tmp_path_factory.mktemp(request.param),
        model=MODEL,
        tracker_store_url=tracker_database,
        redis_url=require_server(REDIS_URL, "Redis"),
        auth_token=TOKEN,
    ) as started:
        yield started
