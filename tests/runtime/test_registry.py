"""Every registered patch is complete, takes effect, reverts, and is the only way we patch.

These tests run over every entry of ``frontline/runtime/registry.py``: a new patch is
checked like the others as soon as it is registered.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from frontline.runtime.patch import Patch, Target
from frontline.runtime.registry import PATCH_MODULES, UPSTREAM_PACKAGES, load_patches
from tests.support.processes import REPO_ROOT

PATCHES = load_patches()


def _locked_versions() -> dict[str, str]:
    lines = (REPO_ROOT / "requirements.lock").read_text().splitlines()
    pins = (re.match(r"^([A-Za-z0-9_.-]+)==([^\s;#]+)", line) for line in lines)
    return {m.group(1).lower().replace("_", "-"): m.group(2) for m in pins if m}


@pytest.fixture(params=PATCHES, ids=[patch.name for patch in PATCHES])
def patch(request) -> Patch:
    return request.param


def test_a_patch_is_written_for_the_locked_and_installed_versions(patch):
    locked = _locked_versions()
    assert patch.versions, "name the upstream versions the patch was written for"
    for package, version in patch.versions.items():
        assert package in UPSTREAM_PACKAGES
        assert locked[package] == version, f"{package}: requirements.lock has {locked[package]}"
    assert patch.version_mismatches() == []


def test_a_patch_says_why_and_names_guard_tests_that_exist(patch):
    assert "Why a patch:" in patch.reason
    assert patch.guard_tests, "name the stock-equivalence tests guarding the patch"
    for path, names in patch.guarded_by.items():
        tree = ast.parse((REPO_ROOT / path).read_text())
        defined = {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}
        assert names and set(names) <= defined, f"{path}: no test named {set(names) - defined}"


def test_applying_makes_every_target_ours_and_reverting_restores_stock(patch):
    stock = {target: target.raw() for target in patch.targets}
    assert all(target.exists() for target in patch.targets)
    assert patch.not_applied() == list(patch.targets)
    patch.apply()
    try:
        assert patch.is_applied()
        patch.apply()  # a second apply changes nothing
        assert patch.is_applied()
    finally:
        patch.revert()
    assert {target: target.raw() for target in patch.targets} == stock
    assert patch.not_applied() == list(patch.targets)


def test_no_two_patches_replace_the_same_attribute():
    targets = [target for patch in PATCHES for target in patch.targets]
    assert len(targets) == len(set(targets))


def test_every_module_with_a_patch_is_registered():
    folder = REPO_ROOT / "frontline" / "runtime" / "patches"
    defining = {
        f"frontline.runtime.patches.{path.stem}"
        for path in folder.glob("*.py")
        if re.search(r"^PATCH = Patch\(", path.read_text(), re.MULTILINE)
    }
    assert defining == set(PATCH_MODULES)


def test_a_target_names_module_class_and_attribute():
    target = Target("rasa.core.agent:Agent.load_model")
    assert (target.module, target.qualname, target.attribute) == (
        "rasa.core.agent",
        "Agent.load_model",
        "load_model",
    )
    assert str(target) == "rasa.core.agent.Agent.load_model"
    assert not Target("rasa.core.agent:Agent.no_such_method").exists()
    assert not Target("rasa.no_such_module:thing").exists()


UPSTREAM_MODULES = ("rasa", "rasa_sdk", "sanic", "sanic_routing", "jsonschema", "dask")


def _upstream_names(tree: ast.AST) -> set[str]:
    """Names a module binds to upstream modules or to objects imported from them."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] in UPSTREAM_MODULES:
                    names.add(alias.asname or alias.name.split(".")[0])
        elif isinstance(node, ast.ImportFrom) and node.module:
            if node.module.split(".")[0] in UPSTREAM_MODULES:
                names.update(alias.asname or alias.name for alias in node.names)
    return names


def _replacements_of_upstream_attributes(path: Path) -> list[int]:
    """Lines of ``path`` that assign to an attribute of something upstream."""
    tree = ast.parse(path.read_text())
    upstream = _upstream_names(tree)
    found = []
    for node in ast.walk(tree):
        owners: list[ast.expr] = []  # what gets an attribute replaced
        if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            owners = [t.value for t in targets if isinstance(t, ast.Attribute)]
        elif isinstance(node, ast.Call) and getattr(node.func, "id", None) == "setattr":
            owners = node.args[:1]
        for owner in owners:
            while isinstance(owner, ast.Attribute):
                owner = owner.value
            if isinstance(owner, ast.Name) and owner.id in upstream:
                found.append(node.lineno)
    return found


def test_no_upstream_attribute_is_replaced_outside_the_runtime_package():
    runtime = REPO_ROOT / "frontline" / "runtime"
    found = [
        f"{path.relative_to(REPO_ROOT)}:{line}"
        for folder in ("frontline", "actions", "desk", "sandbox", "webchat")
        for path in (REPO_ROOT / folder).rglob("*.py")
        if runtime not in path.parents
        for line in _replacements_of_upstream_attributes(path)
    ]
    assert found == [], "upstream attributes replaced outside frontline/runtime/"


def test_the_scan_finds_a_replaced_upstream_attribute(tmp_path):
    module = tmp_path / "sneaky.py"
    module.write_text(
        "import sanic.app\nfrom rasa.core.agent import Agent\n"
        "Agent.load_model = print\nsanic.app.serve_multiple = print\n"
        "setattr(Agent, 'handle_message', print)\nagent = Agent()\nagent.domain = None\n"
    )
    assert _replacements_of_upstream_attributes(module) == [3, 4, 5]


def test_the_patch_test_template_is_valid_python():
    ast.parse((REPO_ROOT / "tests" / "runtime" / "patch_test_template.py").read_text())
