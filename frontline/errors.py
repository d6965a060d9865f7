"""Project exceptions. Callers catch these, never bare ``Exception``."""


class FrontlineError(Exception):
    """Base class of every error raised by Frontline code."""


class ConfigurationError(FrontlineError):
    """Settings, policies or schemas are missing or invalid."""


class BackendError(FrontlineError):
    """A backend service could not give a usable answer."""


class BackendUnavailable(BackendError):
    """The backend timed out, refused the connection or answered with a 5xx."""


class BackendTimeout(BackendUnavailable):
    """The backend did not answer in time: a write may or may not have happened."""


class BackendRejected(BackendError):
    """The backend understood the request and refused it (a 4xx other than 404)."""

    def __init__(self, message: str, status: int, body: dict | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.body = body or {}


class NotFound(BackendError):
    """The backend has no such resource (a 404)."""


class QueueError(FrontlineError):
    """The human handoff queue could not store or read a packet."""


class PacketInvalid(FrontlineError):
    """A handoff packet does not satisfy its JSON schema."""


class ChannelStoreError(FrontlineError):
    """The channels' shared store (delivery marks, reply addresses) could not answer."""


class AuditError(FrontlineError):
    """The audit trail could not store or read a record."""
