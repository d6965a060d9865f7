"""Frontline: the business logic behind the assistant.

Everything here is plain Python, testable without Rasa: settings, database access,
connectors to the CRM / order / billing services, the handoff queue, and the
services that hold the business rules. The rasa-sdk actions in ``actions/`` are thin
wrappers around these modules.
"""
