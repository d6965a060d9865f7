"""The shared names of Frontline, defined once and imported everywhere.

Slot names, handoff reason codes, priorities, forms and the writes the assistant may
make are used by the actions, the services, the dialogue policies, the desk and the
handoff packet. Each list lives here; ``tests/frontline/test_vocabulary.py`` checks it
against the files that must agree with it (``domain/*.yml`` slots and forms,
``policies/escalation.yml`` reasons, priorities and writes, and the enums of the handoff
packet's JSON schema), so a name added in one place and forgotten in another fails a test.

The names are plain ``str`` constants grouped in classes (not ``enum.Enum``): Rasa's
events, JSON and YAML take them as they are.
"""

from __future__ import annotations

from typing import Final


def _values(namespace: type) -> tuple[str, ...]:
    """The string constants of a namespace class, in definition order."""
    return tuple(
        value
        for name, value in vars(namespace).items()
        if name.isupper() and isinstance(value, str)
    )


class Slot:
    """Every slot of the domain (``domain/*.yml``)."""

    # core
    ACTION_LOG: Final = "action_log"
    # verification
    CUSTOMER_VERIFIED: Final = "customer_verified"
    CUSTOMER_ID: Final = "customer_id"
    CUSTOMER_FIRST_NAME: Final = "customer_first_name"
    VERIFICATION_ATTEMPTS: Final = "verification_attempts"
    EMAIL: Final = "email"
    VERIFICATION_SECRET: Final = "verification_secret"
    # handoff
    NEEDS_HUMAN: Final = "needs_human"
    HANDOFF_REASON: Final = "handoff_reason"
    HANDOFF_NOTE: Final = "handoff_note"
    ESCALATION_RULE: Final = "escalation_rule"
    # orders
    ORDER_ID: Final = "order_id"
    CANCEL_CONFIRMED: Final = "cancel_confirmed"
    LISTED_ORDERS: Final = "listed_orders"
    PREVIOUS_ORDER_ID: Final = "previous_order_id"
    # returns
    RETURN_CONFIRMED: Final = "return_confirmed"
    # billing
    BILLING_TOPIC: Final = "billing_topic"
    CHARGE_AMOUNT: Final = "charge_amount"
    DISPUTE_CONFIRMED: Final = "dispute_confirmed"
    DISPUTED_CHARGE_ID: Final = "disputed_charge_id"
    # account changes
    ACCOUNT_FIELD: Final = "account_field"
    ACCOUNT_NEW_VALUE: Final = "account_new_value"
    ACCOUNT_CHANGE_CONFIRMED: Final = "account_change_confirmed"
    # password reset
    RESET_CONFIRMED: Final = "reset_confirmed"
    # csat
    CSAT: Final = "csat"
    # risk: the customer was frustrated in this conversation (no small talk, no jokes)
    FRUSTRATED: Final = "frustrated"


SLOTS: Final = frozenset(_values(Slot))


class Reason:
    """Handoff reason codes: why a conversation goes to a person (the packet's
    ``reason.code``)."""

    CUSTOMER_REQUEST: Final = "customer_request"
    VERIFICATION_FAILED: Final = "verification_failed"
    REPEATED_FALLBACK: Final = "repeated_fallback"
    BACKEND_ERROR: Final = "backend_error"
    OUT_OF_SCOPE: Final = "out_of_scope"
    POLICY: Final = "policy"
    COMPLAINT: Final = "complaint"
    LATE_DELIVERY: Final = "late_delivery"
    REFUND_OVERDUE: Final = "refund_overdue"
    FRAUD: Final = "fraud"
    LEGAL: Final = "legal"
    CHARGEBACK: Final = "chargeback"
    SELF_HARM: Final = "self_harm"
    PRIVACY_REQUEST: Final = "privacy_request"
    PROTECTED_CHANGE: Final = "protected_change"
    CAPABILITY_OFF: Final = "capability_off"
    KILL_SWITCH: Final = "kill_switch"
    FRUSTRATION: Final = "frustration"
    OUTCOME_UNKNOWN: Final = "outcome_unknown"
    DEPENDENCY_DOWN: Final = "dependency_down"


REASONS: Final = _values(Reason)


class Priority:
    """Handoff priorities, lowest first."""

    LOW: Final = "low"
    NORMAL: Final = "normal"
    HIGH: Final = "high"
    URGENT: Final = "urgent"


#: Lowest first: ``tier_boost`` raises a priority one step along this tuple.
PRIORITIES: Final = _values(Priority)


class Form:
    """The domain's forms, one per flow that collects slots."""

    ORDER_STATUS: Final = "order_status_form"
    CANCEL_ORDER: Final = "cancel_order_form"
    RETURN: Final = "return_form"
    BILLING: Final = "billing_form"
    ACCOUNT_CHANGE: Final = "account_change_form"
    PASSWORD_RESET: Final = "password_reset_form"
    REFUND_STATUS: Final = "refund_status_form"
    LATE_DELIVERY: Final = "late_delivery_form"
    PAYMENT_PROBLEM: Final = "payment_problem_form"
    INVOICE_COPY: Final = "invoice_copy_form"


FORMS: Final = frozenset(_values(Form))


class Write:
    """Backend writes the assistant may make (``policies/escalation.yml`` ``writes``);
    every one goes through :mod:`frontline.writes`."""

    CANCEL_ORDER: Final = "cancel_order"
    RETURN_ORDER: Final = "return_order"
    DISPUTE_CHARGE: Final = "dispute_charge"
    PASSWORD_RESET: Final = "password_reset"
    CHANGE_EMAIL: Final = "change_email"
    CHANGE_PHONE: Final = "change_phone"
    CHANGE_SHIPPING_ADDRESS: Final = "change_shipping_address"
    SEND_INVOICE_COPY: Final = "send_invoice_copy"


WRITES: Final = _values(Write)

#: Intents that start a flow (a form that asks for details and may change something):
#: customers phrase them in many ways, so the training data needs more examples of each.
FLOW_INTENTS: Final = frozenset(
    {
        "check_order_status",
        "cancel_order",
        "request_return",
        "list_invoices",
        "explain_charge",
        "report_double_charge",
        "reset_password",
        "change_shipping_address",
        "change_email",
        "change_phone",
    }
)


__all__ = [
    "FLOW_INTENTS",
    "FORMS",
    "PRIORITIES",
    "REASONS",
    "SLOTS",
    "WRITES",
    "Form",
    "Priority",
    "Reason",
    "Slot",
    "Write",
]
