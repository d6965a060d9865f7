"""Escalation risk from conversation dynamics (issue 19 item 7): offline model only.

:mod:`frontline.risk.model` turns per-turn snapshots of a contact (time to first
response, clarifying questions, sentiment trend, backend calls, fallbacks, turn index)
into features and fits a scikit-learn logistic regression predicting whether the contact
ends with a person; ``python -m bench.escalation_risk`` validates it on held-out
conversations. Not yet wired into the escalation policy (see docs/decisions/release.md).
"""
