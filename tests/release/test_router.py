"""The canary router forwards each conversation to its arm's server, sticky, with clear 4xx."""

from __future__ import annotations

import asyncio

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from frontline.release.canary import CANDIDATE, PRODUCTION, CanaryStore
from frontline.release.router import create_app


def _arm_server(name: str) -> web.Application:
    app = web.Application()

    async def webhook(request: web.Request) -> web.Response:
        body = await request.json()
        return web.json_response([{"recipient_id": body["sender"], "text": f"from {name}"}])

    app.router.add_post("/webhooks/rest/webhook", webhook)
    return app


async def _exercise(store: CanaryStore) -> dict[str, object]:
    production = TestServer(_arm_server(PRODUCTION))
    candidate = TestServer(_arm_server(CANDIDATE))
    await production.start_server()
    await candidate.start_server()
    arms = {PRODUCTION: str(production.make_url("")), CANDIDATE: str(candidate.make_url(""))}
    results: dict[str, object] = {}
    async with TestClient(TestServer(create_app(store, arms))) as client:
        answers = {}
        for i in range(30):
            for _ in range(2):  # a second message lands on the same arm
                response = await client.post(
                    "/webhooks/rest/webhook", json={"sender": f"c{i}", "message": "hi"}
                )
                text = (await response.json())[0]["text"]
                arm = response.headers["X-Frontline-Arm"]
                assert text == f"from {arm}"
                answers.setdefault(f"c{i}", set()).add(arm)
        results["answers"] = answers
        bad = await client.post("/webhooks/rest/webhook", json={"message": "no sender"})
        results["bad"] = (bad.status, await bad.json())
        junk = await client.post("/webhooks/rest/webhook", data=b"{not json")
        results["junk"] = junk.status
    await candidate.close()
    async with TestClient(TestServer(create_app(store, arms))) as client:
        down = await client.post("/webhooks/rest/webhook", json={"sender": "c-new", "message": "x"})
        results["down"] = (down.status, (await down.json())["error"]) if down.status == 502 else 200
    await production.close()
    return results


def test_the_router_sends_each_conversation_to_one_arm(sqlite_url, unique_name):
    store = CanaryStore(sqlite_url, unique_name)
    store.start("cand1", "prod1", 50, "model-canary", actor="test", reason="test")
    results = asyncio.run(_exercise(store))
    answers = results["answers"]
    assert all(len(arms) == 1 for arms in answers.values())
    assert {arm for arms in answers.values() for arm in arms} == {PRODUCTION, CANDIDATE}
    assert {c: arms.pop() for c, arms in answers.items()} == {
        f"c{i}": store.assign(f"c{i}").arm for i in range(30)
    }
    assert results["bad"] == (
        400,
        {"error": "bad_request", "message": "The body needs a 'sender' (the conversation id)."},
    )
    assert results["junk"] == 400
    # With the candidate server down, its conversations get a clear 502 (production ones 200).
    expected = (502, "arm_unreachable") if store.assign("c-new").arm == CANDIDATE else 200
    assert results["down"] == expected
