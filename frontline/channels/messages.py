"""What the channels add to a message: who is speaking.

An agent's reply from the desk is a ``bot`` event appended through Rasa's API; its
metadata marks it as a person's (``frontline_agent``, the desk's convention, or
``"sender": "agent"``) and may carry the name to show (``agent_name``). Rasa hands the
metadata to the output channel with the text, and each channel shows the customer
that a person writes. The agent's sign-in name is never shown: it is half of their
credentials, so without ``agent_name`` the customer sees "Support team".
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

MAX_AGENT_NAME_CHARS = 64
DEFAULT_AGENT_NAME = "Support team"


def speaker(details: Mapping[str, Any]) -> dict[str, str]:
    """``{"sender": "agent", "agent_name": ...}`` for a human agent's message, else ``{}``."""
    if not (details.get("sender") == "agent" or details.get("frontline_agent")):
        return {}
    name = details.get("agent_name")
    name = " ".join(name.split())[:MAX_AGENT_NAME_CHARS] if isinstance(name, str) else ""
    return {"sender": "agent", "agent_name": name or DEFAULT_AGENT_NAME}
