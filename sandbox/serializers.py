"""JSON shapes of the API's resources.

Money is a string with two decimals (``"59.90"``); timestamps are ISO-8601 UTC
with a ``Z`` suffix. The functions read ORM objects or Core rows (anything with the columns as
attributes) and return plain dicts.
"""

from __future__ import annotations

from collections.abc import Iterable
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
        "id": charge.id,
        "invoice_id": charge.invoice_id,
        "order_id": order_id,
        "customer_id": charge.customer_id,
        "amount": money(charge.amount),
        "currency": charge.currency,
        "card_brand": charge.card_brand,
        "card_last4": charge.card_last4,
        "created_at": isoformat(charge.created_at),
        "description": charge.description,
    }


def invoice_json(invoice: Any, charges: Iterable[Any]) -> JsonDict:
    """An invoice with its charges (oldest first).

    Args:
        invoice: An :class:`Invoice`, or any row with its columns.
        charges: Its charges (objects or rows), oldest first.
    """
    return {
        "id": invoice.id,
        "order_id": invoice.order_id,
        "customer_id": invoice.customer_id,
        "amount": money(invoice.amount),
        "currency": invoice.currency,
        "status": invoice.status,
        "issued_at": isoformat(invoice.issued_at),
        "refunded_at": isoformat(invoice.refunded_at),
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
    return {
        "id": dispute.id,
        "charge_id": dispute.charge_id,
        "invoice_id": dispute.invoice_id,
        "customer_id": dispute.customer_id,
        "amount": money(dispute.amount),
        "currency": dispute.currency,
        "reason": dispute.reason,
        "note": dispute.note,
        "status": dispute.status,
        "created_at": isoformat(dispute.created_at),
    }


def password_reset_json(reset: Any) -> JsonDict:
    """A password-reset link sent to a customer."""
    return {
        "id": reset.id,
        "customer_id": reset.customer_id,
        "sent_to": reset.sent_to,
        "requested_via": reset.requested_via,
        "created_at": isoformat(reset.created_at),
        "expires_at": isoformat(reset.expires_at),
    }


def contact_json(contact: Any) -> JsonDict:
    """A customer's contact (a :class:`Contact` or any row with its columns)."""
    return {
        "id": contact.id,
        "customer_id": contact.customer_id,
        "channel": contact.channel,
        "conversation_id": contact.conversation_id,
        "topic": contact.topic,
        "started_at": isoformat(contact.started_at),
        "created_at": isoformat(contact.created_at),
    }
