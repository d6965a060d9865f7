"""Policy as code: the modules in ``policies/`` and their typed views.

One module of this package per concern; import from the specific one:

* :mod:`frontline.policy.loading`: reading a YAML module and checking it against its
  JSON Schema (:func:`load_policy`), and the checks typed views share.
* :mod:`frontline.policy.escalation`: :class:`EscalationRules`, verification and
  fallback limits, priorities, sensitive topics, frustration, the writes the assistant
  may make. (Not to be confused with the Rasa dialogue policy that applies them,
  :class:`frontline.dialogue.escalation_policy.EscalationDialoguePolicy`.)
* :mod:`frontline.policy.consent`, :mod:`frontline.policy.scope`,
  :mod:`frontline.policy.data_handling`, :mod:`frontline.policy.returns`: one typed
  view each.
* :mod:`frontline.policy.registry`: :func:`policies`, every module loaded and
  cross-checked once per process.

The names below stay importable from ``frontline.policy`` for existing callers.
"""

from __future__ import annotations

from frontline.policy.consent import ConsentPolicy, ConsentRule
from frontline.policy.data_handling import PLACES, TREATMENTS, DataHandlingPolicy, FieldHandling
from frontline.policy.escalation import (
    PRIORITIES,
    EscalationRule,
    EscalationRules,
    FrustrationRule,
    MoneyLimit,
    SensitiveTopic,
    WriteRule,
    escalation_rules,
)
from frontline.policy.loading import PolicyModule, PolicyView, load_policy, phrase_pattern
from frontline.policy.registry import (
    MODULE_NAMES,
    VIEWS,
    Policies,
    load_policies,
    policies,
    typed_view,
)
from frontline.policy.returns import ReturnsPolicy, returns_policy
from frontline.policy.scope import ScopePolicy, ScopeRestriction

#: The escalation rules' former names, for callers not yet moved to the new ones.
EscalationPolicy = EscalationRules
escalation_policy = escalation_rules

__all__ = [
    "MODULE_NAMES",
    "PLACES",
    "PRIORITIES",
    "TREATMENTS",
    "VIEWS",
    "ConsentPolicy",
    "ConsentRule",
    "DataHandlingPolicy",
    "EscalationPolicy",
    "EscalationRule",
    "EscalationRules",
    "FieldHandling",
    "FrustrationRule",
    "MoneyLimit",
    "Policies",
    "PolicyModule",
    "PolicyView",
    "ReturnsPolicy",
    "ScopePolicy",
    "ScopeRestriction",
    "SensitiveTopic",
    "WriteRule",
    "escalation_policy",
    "escalation_rules",
    "load_policies",
    "load_policy",
    "phrase_pattern",
    "policies",
    "returns_policy",
    "typed_view",
]
