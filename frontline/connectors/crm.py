"""Connector to the CRM: customers and identity checks."""

from __future__ import annotations

from typing import Any

from frontline.connectors.http import JsonServiceClient


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
