"""The one path of every backend write (see :mod:`frontline.writes.path`)."""

from frontline.writes.path import (
    CapabilityProvider,
    WritePath,
    WriteRequest,
    WriteResult,
    WriteStatus,
    capability_provider,
    flag_refusal_response,
    set_capability_provider,
)
from frontline.writes.registry import WRITE_METHODS, WriteOutsidePath, backend_write

__all__ = [
    "WRITE_METHODS",
    "CapabilityProvider",
    "WritePath",
    "WriteOutsidePath",
    "WriteRequest",
    "WriteResult",
    "WriteStatus",
    "backend_write",
    "capability_provider",
    "flag_refusal_response",
    "set_capability_provider",
]
