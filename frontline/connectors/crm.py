"""Connector to the CRM: customers and identity checks."""

from __future__ import annotations

from typing import Any

from frontline.connectors.http import JsonServiceClient
from frontline.vocabulary import Write
from frontline.writes.registry import backend_write


class CrmClient(JsonServiceClient):
    """The customer-relationship service."""

    service_name = "CRM"

    async def verify_customer(
        self, email: str, *, order_id: str | None = None, zip_code: str | None = None
    ) -> dict[str, Any] | None:
        """Returns the customer when the e-mail matches the order or ZIP, else None."""
        body = await self.request(
            "POST",
            "/crm/verify",
            json={"email": email, "order_id": order_id, "zip_code": zip_code},
        )
        return body.get("customer") if body.get("verified") else None

    async def get_customer(self, customer_id: str) -> dict[str, Any]:
        """Returns one customer record."""
        return await self.request("GET", f"/crm/customers/{customer_id}")

    async def list_orders(self, customer_id: str) -> list[dict[str, Any]]:
        """Returns the customer's orders, newest first."""
        body = await self.request("GET", f"/crm/customers/{customer_id}/orders")
        return list(body.get("orders", []))

    async def record_contact(
        self,
        customer_id: str,
        *,
        channel: str,
        conversation_id: str,
        topic: str | None,
        started_at: str | None,
        idempotency_key: str,
    ) -> dict[str, Any]:
        """Adds a contact (a conversation on a channel) to the customer's history.

        Args:
            started_at: ISO-8601 UTC time the conversation started; None means now.
            idempotency_key: The same key for every retry of this one contact.

        Returns:
            The stored contact (the first one again when the key was seen before).
        """
        body = await self.request(
            "POST",
            f"/crm/customers/{customer_id}/contacts",
            json={
                "channel": channel,
                "conversation_id": conversation_id,
                "topic": topic,
                "started_at": started_at,
            },
            headers={"Idempotency-Key": idempotency_key},
        )
        return dict(body.get("contact") or {})

    async def list_contacts(self, customer_id: str, limit: int = 20) -> list[dict[str, Any]]:
        """Returns the customer's contacts on every channel, newest first."""
        body = await self.request(
            "GET", f"/crm/customers/{customer_id}/contacts", params={"limit": str(limit)}
        )
        return list(body.get("contacts", []))

    @backend_write(Write.PASSWORD_RESET)
    async def request_password_reset(
        self, customer_id: str, *, idempotency_key: str, requested_via: str = "assistant"
    ) -> dict[str, Any]:
        """Has the CRM e-mail a password-reset link to the address on file.

        Returns:
            The recorded reset (``id``, ``sent_to``, ``created_at``, ``expires_at``);
            a replayed key returns the first one and sends nothing.
        """
        body = await self.request(
            "POST",
            f"/crm/customers/{customer_id}/password-resets",
            json={"requested_via": requested_via},
            headers={"Idempotency-Key": idempotency_key},
        )
        return dict(body.get("password_reset") or {})

    @backend_write(Write.CHANGE_EMAIL, Write.CHANGE_PHONE, Write.CHANGE_SHIPPING_ADDRESS)
    async def update_customer(
        self, customer_id: str, changes: dict[str, str], *, idempotency_key: str
    ) -> dict[str, Any]:
        """Changes ``email``, ``phone`` and/or ``shipping_address`` on the account.

        Returns:
            ``{"customer": <the updated record>, "changed": [<fields that changed>]}``.

        Raises:
            BackendRejected: 409 ``email_taken`` or 400 for a value the CRM refuses.
        """
        return await self.request(
            "PATCH",
            f"/crm/customers/{customer_id}",
            json=changes,
            headers={"Idempotency-Key": idempotency_key},
        )
