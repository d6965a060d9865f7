"""A patch swaps attributes in and out exactly (frontline/runtime/patch.py)."""

from __future__ import annotations

from frontline.runtime.patch import Patch, VersionMismatch

LIMIT = 10


class Base:
    def greet(self) -> str:
        return "base"

    @staticmethod
    def shout() -> str:
        return "BASE"


class Child(Base):
    pass


def ours(*_args: object) -> str:
    return "ours"


def patch_of(**replacements: object) -> Patch:
    return Patch(
        name="example",
        reason="Why a patch: a test.",
        guarded_by={},
        versions={"rasa": "3.6.21", "sanic": "21.12.2"},
        replacements={
            f"{__name__}:{path.replace('__', '.')}": v for path, v in replacements.items()
        },
    )


def test_a_static_method_is_replaced_by_a_static_method_and_restored():
    patch = patch_of(Base__shout=ours)
    patch.apply()
    assert (Base.shout(), Base().shout(), patch.is_applied()) == ("ours", "ours", True)
    patch.revert()
    assert Base.shout() == "BASE" and isinstance(vars(Base)["shout"], staticmethod)


def test_a_method_a_class_inherits_is_inherited_again_after_revert():
    patch = patch_of(Child__greet=ours)
    patch.apply()
    assert (Child().greet(), Base().greet()) == ("ours", "base")
    patch.revert()
    assert "greet" not in vars(Child) and Child().greet() == "base"


def test_a_module_attribute_is_replaced_and_restored_and_apply_is_idempotent():
    patch = patch_of(LIMIT=ours)
    patch.apply()
    patch.apply()
    assert LIMIT is ours and patch.not_applied() == []
    patch.revert()
    assert LIMIT == 10 and [str(t) for t in patch.not_applied()] == [f"{__name__}.LIMIT"]


def test_versions_are_compared_exactly():
    patch = patch_of()
    found = {"rasa": "3.6.21", "sanic": "21.12.20"}
    assert patch.version_mismatches(found.__getitem__) == [
        VersionMismatch("example", "sanic", "21.12.2", "21.12.20")
    ]
