"""Connector to billing: invoices, card charges, disputes, refunds, payments, invoice copies.

The billing system only ever hands out a card's brand and last four digits.
"""

from __future__ import annotations

from typing import Any

from frontline.connectors.http import JsonServiceClient
from frontline.vocabulary import Write
from frontline.writes.registry import backend_write


class BillingClient(JsonServiceClient):
    """The billing service."""

    service_name = "billing"

    async def list_invoices(self, customer_id: str) -> list[dict[str, Any]]:
        """The customer's invoices with their charges, newest first."""
        body = await self.request("GET", f"/billing/customers/{customer_id}/invoices")
        return list(body.get("invoices", []))

    async def list_charges(self, customer_id: str) -> list[dict[str, Any]]:
        """The customer's card charges, newest first."""
        body = await self.request("GET", f"/billing/customers/{customer_id}/charges")
        return list(body.get("charges", []))

    @backend_write(Write.DISPUTE_CHARGE)
    async def open_dispute(
        self, charge_id: str, *, reason: str, note: str | None, idempotency_key: str
    ) -> dict[str, Any]:
        """Opens a dispute of one charge for the billing team.

        Args:
            reason: ``duplicate``, ``unrecognized`` or ``other``.

        Returns:
            The dispute (``id``, ``charge_id``, ``amount``, ``status``, ...); a replayed
            key returns the first one.

        Raises:
            BackendRejected: 409 ``already_disputed`` (with ``dispute_id``).
        """
        body = await self.request(
            "POST",
            f"/billing/charges/{charge_id}/disputes",
            json={"reason": reason, "note": note},
            headers={"Idempotency-Key": idempotency_key},
        )
        return dict(body.get("dispute") or {})

    async def list_refunds(self, customer_id: str) -> list[dict[str, Any]]:
        """The customer's refunds (state, amount, card, issued and expected dates), newest first."""
        body = await self.request("GET", f"/billing/customers/{customer_id}/refunds")
        return list(body.get("refunds", []))

    async def list_payments(self, customer_id: str) -> list[dict[str, Any]]:
        """The customer's payment attempts (succeeded, pending, declined, failed), newest first."""
        body = await self.request("GET", f"/billing/customers/{customer_id}/payments")
        return list(body.get("payments", []))

    @backend_write(Write.SEND_INVOICE_COPY)
    async def email_invoice(self, invoice_id: str, *, idempotency_key: str) -> dict[str, Any]:
        """E-mails a copy of the invoice to the address on the customer's account.

        Returns:
            The copy sent (``id``, ``invoice_id``, ``sent_to``, ``created_at``); a
            replayed key returns the first one and sends nothing.
        """
        body = await self.request(
            "POST",
            f"/billing/invoices/{invoice_id}/email",
            json={},
            headers={"Idempotency-Key": idempotency_key},
        )
        return dict(body.get("invoice_email") or {})
