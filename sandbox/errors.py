"""API errors: every failure is ``{"error": "<code>", "message": "..."}`` with its status."""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """An error answered to the client as JSON.

    Args:
        status: HTTP status code.
        code: Stable machine-readable error code (``order_not_found``).
        message: Human-readable explanation.
        extra: More fields merged into the body (e.g. ``{"state": "shipped"}``).
    """

    def __init__(self, status: int, code: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.extra = extra

    def body(self) -> dict[str, Any]:
        """The JSON body of the error response."""
        return {"error": self.code, "message": self.message, **self.extra}


def invalid_request(message: str) -> ApiError:
    """400 ``invalid_request``."""
    return ApiError(400, "invalid_request", message)


def customer_not_found(customer_id: str) -> ApiError:
    """404 ``customer_not_found``."""
    return ApiError(404, "customer_not_found", f"No customer with id {customer_id!r}.")


def order_not_found(order_id: str) -> ApiError:
    """404 ``order_not_found``."""
    return ApiError(404, "order_not_found", f"No order with id {order_id!r}.")


def invoice_not_found(invoice_id: str) -> ApiError:
    """404 ``invoice_not_found``."""
    return ApiError(404, "invoice_not_found", f"No invoice with id {invoice_id!r}.")


def charge_not_found(charge_id: str) -> ApiError:
    """404 ``charge_not_found``."""
    return ApiError(404, "charge_not_found", f"No charge with id {charge_id!r}.")
