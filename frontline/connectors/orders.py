"""Connector to order management."""

from __future__ import annotations

from typing import Any

from frontline.connectors.http import JsonServiceClient
from frontline.vocabulary import Write
from frontline.writes.registry import backend_write


class OrdersClient(JsonServiceClient):
    """The order-management service."""

    service_name = "order management"

    async def get_order(self, order_id: str) -> dict[str, Any]:
        """Returns one order (raises ``NotFound`` for an unknown number)."""
        return await self.request("GET", f"/orders/{order_id}")

    @backend_write(Write.CANCEL_ORDER)
    async def cancel_order(
        self, order_id: str, *, idempotency_key: str, reason: str | None = None
    ) -> dict[str, Any]:
        """Cancels an order; a replayed key returns the first result and changes nothing.

        Returns:
            ``{"order": <the cancelled order>, "refund": {"amount", ...} | None}``.
        """
        return await self.request(
            "POST",
            f"/orders/{order_id}/cancel",
            json={"reason": reason},
            headers={"Idempotency-Key": idempotency_key},
        )

    @backend_write(Write.RETURN_ORDER)
    async def return_order(
        self, order_id: str, *, idempotency_key: str, reason: str | None = None
    ) -> dict[str, Any]:
        """Authorises the return of a delivered order and refunds its payment.

        Returns:
            ``{"order": <the returned order>, "return": {"id", "label_url", "refund":
            {"amount", "currency", "card_brand", "card_last4"} | None, ...}}``; a
            replayed key returns the first result and changes nothing.

        Raises:
            BackendRejected: 409 ``not_returnable`` (with ``state``) when the order
                is not delivered.
        """
        return await self.request(
            "POST",
            f"/orders/{order_id}/return",
            json={"reason": reason},
            headers={"Idempotency-Key": idempotency_key},
        )

    async def get_delivery(self, order_id: str) -> dict[str, Any]:
        """The delivery date promised for an order and its parcel (``promised_by``,
        ``state``, ``shipment``); raises ``NotFound`` for an unknown number."""
        return await self.request("GET", f"/orders/{order_id}/delivery")
