"""Multi-process deployments on one machine, sharing PostgreSQL and Redis.

Used by the scale-out tests and the scale benchmark:

* ``one_instance``: one Rasa server, one action server;
* ``two_instances``: two Rasa servers and two action servers behind Debian's nginx;
* ``two_workers``: one Rasa server with two Sanic workers (``SANIC_WORKERS=2``).

All use the Redis lock store, so turns of one conversation are processed one at a
time whichever process receives them.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa

from tests.support.processes import (
    ServerProcess,
    action_server_process,
    nginx_process,
    rasa_server_process,
    sandbox_process,
)

KINDS = ("one_instance", "two_instances", "two_workers")


@dataclass
class Topology:
    """A started deployment: where clients send turns, and its processes."""

    kind: str
    entry_points: list[str]  # URLs a client may send a conversation's turns to
    balancer_url: str  # one URL spreading load over every Rasa process
    sandbox_url: str
    processes: list[ServerProcess] = field(default_factory=list)


@contextmanager
def fresh_postgres_database(admin_url: str, prefix: str = "frontline") -> Iterator[str]:
    """A PostgreSQL database of its own, dropped afterwards."""
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT", future=True)
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield sa.engine.make_url(admin_url).set(database=name).render_as_string(False)
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def deployment(
    kind: str,
    folder: Path,
    *,
    model: Path,
    tracker_store_url: str,
    redis_url: str,
    auth_token: str,
) -> Iterator[Topology]:
    """Starts the deployment ``kind``; stops every process on exit."""
    env: dict[str, str | None] = {
        "TRACKER_STORE_URL": tracker_store_url,
        # Frontline's own tables (audit trail, handoff queue, CSAT) in the same shared
        # database, as in production: every instance and action server writes there.
        "FRONTLINE_DATABASE_URL": tracker_store_url,
        "REDIS_URL": redis_url,
        "HANDOFF_STREAM": f"frontline:{kind}:{uuid.uuid4().hex[:8]}",
        "RASA_TELEMETRY_ENABLED": "false",
        "SLACK_BOT_TOKEN": "",
        "SLACK_SIGNING_SECRET": "",
        "SLACK_CHANNEL": "",
    }
    started: list[ServerProcess] = []
    try:
        sandbox = sandbox_process(f"sqlite:///{folder / 'sandbox.db'}", folder).start()
        started.append(sandbox)
        env["SANDBOX_URL"] = sandbox.url
        if kind in ("one_instance", "two_workers"):
            actions = action_server_process(folder, env).start()
            started.append(actions)
            workers = "2" if kind == "two_workers" else "1"
            rasa_env = env | {"ACTION_ENDPOINT_URL": f"{actions.url}/webhook"}
            rasa = rasa_server_process(
                model, folder, rasa_env | {"SANIC_WORKERS": workers}, auth_token
            ).start()
            started.append(rasa)
            yield Topology(kind, [rasa.url, rasa.url], rasa.url, sandbox.url, started)
            return
        actions = [action_server_process(folder, env, name=f"actions{i}") for i in (1, 2)]
        started += [a.launch() for a in actions]
        for process in actions:
            process.wait_ready()
        rasa = [
            rasa_server_process(model, folder, dict(env), auth_token, name=f"rasa{i}")
            for i in (1, 2)
        ]
        # nginx's port is chosen before it starts: Rasa's action endpoint goes through it.
        nginx = nginx_process([r.url for r in rasa], [a.url for a in actions], folder)
        for instance in rasa:
            instance.env["ACTION_ENDPOINT_URL"] = f"{nginx.url}/actions/webhook"
        started += [r.launch() for r in rasa]
        for instance in rasa:
            instance.wait_ready()
        started.append(nginx.start())
        yield Topology(kind, [rasa[0].url, rasa[1].url], nginx.url, sandbox.url, started)
    finally:
        for process in reversed(started):
            process.stop()
