"""The domain, the actions and the policies agree with each other.

``rasa data validate`` cannot see responses sent by custom actions; this does.
"""

from __future__ import annotations

import ast
import asyncio
import copy
import json
from pathlib import Path

import pytest
import yaml

from frontline.errors import ConfigurationError
from frontline.policy import load_policy
from frontline.policy_check import check_all
from frontline.resilience.fallback import HANDOFF_RECORDED_RESPONSE
from tests.support.domain import raw_domain

ROOT = Path(__file__).resolve().parent.parent
DOMAIN = raw_domain()


def _strings_in_python(folder: Path) -> set[str]:
    found = set()
    for path in folder.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                found.add(node.value)
    return found


def _strings_in_yaml(folder: Path) -> str:
    return "\n".join(p.read_text() for p in folder.rglob("*.yml"))


def test_every_response_an_action_sends_is_in_the_domain():
    code_strings = _strings_in_python(ROOT / "actions") | _strings_in_python(ROOT / "frontline")
    # "utter_action" is the key under which Rasa records a bot message's response name;
    # the channels' dependency-failure message has its words in policies/dependencies.yml
    # (it is sent when Rasa could not run the turn) and is only recorded under a name.
    not_responses = {"utter_action", HANDOFF_RECORDED_RESPONSE}
    used = {s for s in code_strings if s.startswith("utter_")} - not_responses
    assert used, "no responses found in the action code"
    assert used <= set(DOMAIN["responses"]), used - set(DOMAIN["responses"])


def test_every_response_in_the_domain_is_used_somewhere():
    code_strings = _strings_in_python(ROOT / "actions") | _strings_in_python(ROOT / "frontline")
    # Policies name responses too (e.g. a sensitive topic's words of support).
    dialogue = _strings_in_yaml(ROOT / "data") + _strings_in_yaml(ROOT / "policies")
    form_questions = {
        f"utter_ask_{slot}" for f in DOMAIN["forms"].values() for slot in f["required_slots"]
    }
    # utter_faq/<name> is sent by the rule action utter_faq (retrieval intents).
    unused = {
        name
        for name in DOMAIN["responses"]
        if name not in code_strings
        and name not in dialogue
        and name not in form_questions
        and name.split("/")[0] not in dialogue
    }
    assert not unused


def _custom_actions() -> dict[str, dict]:
    """The domain's custom actions by name, with their options (``send_domain``)."""
    actions: dict[str, dict] = {}
    for entry in DOMAIN["actions"]:
        if isinstance(entry, str):
            actions[entry] = {}
        else:
            actions.update({name: options or {} for name, options in entry.items()})
    return actions


def test_every_custom_action_in_the_domain_is_implemented():
    code_strings = _strings_in_python(ROOT / "actions")
    assert set(_custom_actions()) <= code_strings


def test_form_validators_get_the_domain_they_read_the_forms_from():
    # endpoints.yml sends the domain only to actions that ask for it (selective domain);
    # rasa-sdk's FormValidationAction reads a form's required slots from it.
    endpoints = yaml.safe_load((ROOT / "endpoints.yml").read_text())
    assert endpoints["action_endpoint"]["enable_selective_domain"] is True
    validators = {f"validate_{form}" for form in DOMAIN["forms"]}
    needing = {name for name, options in _custom_actions().items() if options.get("send_domain")}
    assert needing == validators


def test_identity_slots_are_never_filled_from_text():
    for slot in ("customer_verified", "customer_id", "customer_first_name"):
        assert DOMAIN["slots"][slot]["mappings"] == [{"type": "custom"}]


def test_all_policy_modules_are_valid():
    assert check_all(ROOT / "policies") == []


def test_a_broken_policy_is_refused(tmp_path):
    (tmp_path / "schemas").mkdir()
    schema = (ROOT / "policies" / "schemas" / "escalation.schema.json").read_text()
    (tmp_path / "schemas" / "escalation.schema.json").write_text(schema)
    policy = yaml.safe_load((ROOT / "policies" / "escalation.yml").read_text())
    policy["rules"]["verification"]["max_attempts"] = "three"
    (tmp_path / "escalation.yml").write_text(yaml.safe_dump(policy))
    with pytest.raises(ConfigurationError, match="rules/verification/max_attempts"):
        load_policy("escalation", tmp_path)


def test_buttons_reach_the_customer_exactly_as_written_without_interpolation_errors():
    """Rasa interpolates slots into button payloads; a JSON payload must survive that."""
    import structlog
    from rasa.core.nlg import TemplatedNaturalLanguageGenerator
    from rasa.core.nlg.interpolator import interpolate
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.trackers import DialogueStateTracker

    domain = Domain.load(str(ROOT / "domain"))
    tracker = DialogueStateTracker("buttons", domain.slots)
    buttons = [
        button
        for variants in domain.responses.values()
        for variant in variants
        for button in variant.get("buttons", [])
    ]
    assert buttons
    with structlog.testing.capture_logs() as logs:
        sent = interpolate(copy.deepcopy(buttons), tracker.current_slot_values())
    assert [entry for entry in logs if entry["log_level"] == "error"] == []
    for button in sent:
        # What a tap sends is what NLU reads: "/intent{json}" must parse.
        intent, brace, entities = button["payload"].partition("{")
        assert intent.startswith("/")
        if brace:
            json.loads(brace + entities)

    generator = TemplatedNaturalLanguageGenerator(domain.responses)
    csat = asyncio.run(generator.generate("utter_ask_csat", tracker, "rest"))
    assert [b["payload"] for b in csat["buttons"]] == [
        f'/csat_feedback{{"rating": "{score}"}}' for score in range(1, 6)
    ]
