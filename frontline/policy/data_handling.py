"""The data-handling policy (``policies/data_handling.yml``): personal data, place by place.

Each personal field (name, e-mail, phone, ...) has a masker, the keys it is held under
(slots, entities, record keys) and what each place does with it: ``keep``, ``mask``,
``hash`` or ``drop`` in logs, handoff packets, audit records and exports.
:mod:`frontline.masking` applies it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property

from frontline.policy.loading import PolicyView, invalid

PLACES = ("logs", "packets", "audit", "exports")
TREATMENTS = ("keep", "mask", "hash", "drop")


@dataclass(frozen=True)
class FieldHandling:
    """How one personal field is masked, and what each place does with it."""

    name: str
    masker: str
    keys: frozenset[str]
    places: Mapping[str, str]


@dataclass(frozen=True)
class DataHandlingPolicy(PolicyView):
    """Typed view of the data-handling policy module."""

    _by_key: dict[str, FieldHandling] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_key: dict[str, FieldHandling] = {}
        for name, spec in self.module.rules["fields"].items():
            handling = FieldHandling(name, spec["masker"], frozenset(spec["keys"]), spec["places"])
            for key in handling.keys:
                if key in by_key:
                    raise invalid(
                        self.module, f"fields/{name}/keys", f"'{key}' is also in {by_key[key].name}"
                    )
                by_key[key] = handling
        # The packet schema only accepts masked contact details.
        for name in ("email", "phone"):
            spec = self.module.rules["fields"].get(name)
            if spec and spec["places"]["packets"] not in ("mask", "drop"):
                raise invalid(
                    self.module,
                    f"fields/{name}/places/packets",
                    "handoff packets accept only masked or dropped contact details",
                )
        object.__setattr__(self, "_by_key", by_key)

    @cached_property
    def fields(self) -> Mapping[str, FieldHandling]:
        return {handling.name: handling for handling in self._by_key.values()}

    def field_for_key(self, key: str) -> FieldHandling | None:
        """The personal field held under ``key`` (a slot, entity or record key), or None."""
        return self._by_key.get(key.lower())

    def treatment(self, place: str, field_name: str) -> str:
        """What ``place`` does with ``field_name``: keep, mask, hash or drop.

        Raises:
            ValueError: ``place`` is not one of :data:`PLACES`.
        """
        if place not in PLACES:
            raise ValueError(f"unknown place {place!r}; expected one of {', '.join(PLACES)}")
        handling = self.fields.get(field_name)
        return handling.places[place] if handling else "keep"
