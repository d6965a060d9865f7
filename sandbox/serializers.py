"""JSON shapes of the API's resources.

Money is a string with two decimals (``"59.90"``); timestamps are ISO-8601 UTC
with a ``Z`` suffix. The functions read ORM objects or Core rows (anything with the columns as
attributes) and return plain dicts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Any

from sandbox.clock import isoformat
from sandbox.models import CANCELLABLE_STATES, CENT

JsonDict = dict[str, Any]

#: Tracking page of each carrier (a sandbox page: the numbers are made up).
TRACKING_URLS = {
    "UPS": "https://tracking.example.com/ups/{}",
    "FedEx": "https://tracking.example.com/fedex/{}",
    "USPS": "https://tracking.example.com/usps/{}",
    "DHL": "https://tracking.example.com/dhl/{}",
}


#: A field of :func:`fields`: an attribute's name, or its name and how to convert it.
Field = str | tuple[str, Callable[[Any], Any]]


def fields(record: Any, *names: Field) -> JsonDict:
    """Attributes of ``record`` by name, in the given order, converted where asked."""
    out: JsonDict = {}
    for field in names:
        name, convert = (field, None) if isinstance(field, str) else field
        value = getattr(record, name)
        out[name] = convert(value) if convert else value
    return out


def money(value: Decimal) -> str:
    """``Decimal("59.9")`` → ``"59.90"``."""
    return str(Decimal(value).quantize(CENT))


def tracking_url(carrier: str, tracking_number: str) -> str:
    """The tracking page of a parcel."""
    template = TRACKING_URLS.get(carrier, "https://tracking.example.com/other/{}")
    return template.format(tracking_number)


def customer_json(customer: Any, shipping_address: str | None = None) -> JsonDict:
    """A CRM customer (a :class:`Customer` or any row with its columns).

    Args:
        customer: The customer.
        shipping_address: The address on file, or ``None`` when there is none.
    """
    return {
        "id": customer.id,
        "name": customer.name,
        "email": customer.email,
        "phone": customer.phone,
        "zip_code": customer.zip_code,
        "tier": customer.tier,
        "channel_ids": dict(customer.channel_ids or {}),
        "shipping_address": shipping_address,
        "created_at": isoformat(customer.created_at),
    }


def shipment_json(shipment: Any | None) -> JsonDict | None:
    """The parcel of an order, or ``None`` when it has not shipped.

    Args:
        shipment: A :class:`Shipment`, or any row with its columns; ``None`` (or a row
            whose ``carrier`` is ``None``, from an outer join) when there is no parcel.
    """
    if shipment is None or shipment.carrier is None:
        return None
    return {
        "carrier": shipment.carrier,
        "tracking_number": shipment.tracking_number,
        "tracking_url": tracking_url(shipment.carrier, shipment.tracking_number),
        "shipped_at": isoformat(shipment.shipped_at),
        "estimated_delivery": isoformat(shipment.estimated_delivery),
        "delivered_at": isoformat(shipment.delivered_at),
    }


def order_json(order: Any, items: Iterable[Any], shipment: Any | None) -> JsonDict:
    """An order with its items and shipment.

    Args:
        order: An :class:`Order`, or any row with its columns.
        items: Its lines (:class:`OrderItem` objects or rows), in order.
        shipment: See :func:`shipment_json`.
    """
    return {
        "id": order.id,
        "customer_id": order.customer_id,
        "state": order.state,
        "cancellable": order.state in CANCELLABLE_STATES,
        "placed_at": isoformat(order.placed_at),
        "updated_at": isoformat(order.updated_at),
        "items": [
            {
                "sku": item.sku,
                "name": item.name,
                "quantity": item.quantity,
                "unit_price": money(item.unit_price),
            }
            for item in items
        ],
        "total": money(order.total),
        "currency": order.currency,
        "shipment": shipment_json(shipment),
        "cancelled_at": isoformat(order.cancelled_at),
        "returned_at": isoformat(order.returned_at),
    }


def charge_json(charge: Any, order_id: str) -> JsonDict:
    """A card charge; the card appears as brand and last 4 digits only.

    Args:
        charge: A :class:`Charge`, or any row with its columns.
        order_id: The order of the charge's invoice.
    """
    return {
        **fields(charge, "id", "invoice_id"),
        "order_id": order_id,
        **fields(charge, "customer_id", ("amount", money), "currency", "card_brand"),
        **fields(charge, "card_last4", ("created_at", isoformat), "description"),
    }


def invoice_json(invoice: Any, charges: Iterable[Any]) -> JsonDict:
    """An invoice with its charges (oldest first).

    Args:
        invoice: An :class:`Invoice`, or any row with its columns.
        charges: Its charges (objects or rows), oldest first.
    """
    return {
        **fields(invoice, "id", "order_id", "customer_id", ("amount", money), "currency"),
        **fields(invoice, "status", ("issued_at", isoformat), ("refunded_at", isoformat)),
        "charges": [charge_json(charge, invoice.order_id) for charge in charges],
    }


def return_json(record: Any) -> JsonDict:
    """A return authorisation with the refund it issued (``refund`` is ``None`` if none)."""
    refund = None
    if record.refund_amount is not None:
        refund = {
            "amount": money(record.refund_amount),
            "currency": record.currency,
            "card_brand": record.card_brand,
            "card_last4": record.card_last4,
        }
    return {
        "id": record.id,
        "order_id": record.order_id,
        "customer_id": record.customer_id,
        "reason": record.reason,
        "label_url": f"https://returns.example.com/labels/{record.id}",
        "refund": refund,
        "created_at": isoformat(record.created_at),
    }


def dispute_json(dispute: Any) -> JsonDict:
    """A disputed charge."""
    return fields(
        dispute,
        *("id", "charge_id", "invoice_id", "customer_id", ("amount", money), "currency"),
        *("reason", "note", "status", ("created_at", isoformat)),
    )


def password_reset_json(reset: Any) -> JsonDict:
    """A password-reset link sent to a customer."""
    return fields(
        reset,
        *("id", "customer_id", "sent_to", "requested_via"),
        *(("created_at", isoformat), ("expires_at", isoformat)),
    )


def contact_json(contact: Any) -> JsonDict:
    """A customer's contact (a :class:`Contact` or any row with its columns)."""
    return fields(
        contact,
        *("id", "customer_id", "channel", "conversation_id", "topic"),
        *(("started_at", isoformat), ("created_at", isoformat)),
    )


def refund_json(refund: Any) -> JsonDict:
    """A refund: its state, amount, method (card as brand and last 4 digits) and dates."""
    return fields(
        refund,
        *("id", "order_id", "invoice_id", "customer_id", ("amount", money), "currency"),
        *("method", "card_brand", "card_last4", "state", ("issued_at", isoformat)),
        *(("expected_at", isoformat), ("completed_at", isoformat)),
    )


def payment_attempt_json(attempt: Any, order_id: str) -> JsonDict:
    """A payment attempt with the order its invoice bills."""
    return {
        **fields(attempt, "id", "invoice_id"),
        "order_id": order_id,
        **fields(attempt, "customer_id", ("amount", money), "currency", "card_brand"),
        **fields(attempt, "card_last4", "state", "decline_code", ("created_at", isoformat)),
    }


def invoice_email_json(sent: Any) -> JsonDict:
    """An invoice copy e-mailed to the address on file."""
    return fields(sent, "id", "invoice_id", "customer_id", "sent_to", ("created_at", isoformat))


def delivery_json(order: Any, promise: Any | None, shipment: Any | None) -> JsonDict:
    """What was promised about an order's delivery, and where the parcel is."""
    return {
        "order_id": order.id,
        "customer_id": order.customer_id,
        "state": order.state,
        "promised_by": isoformat(promise.promised_by) if promise is not None else None,
        "shipment": shipment_json(shipment),
    }
