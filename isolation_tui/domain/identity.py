"""Who made a change, as the records say it.

Three things, of different trust: the OS account of the real uid (from the system,
cannot be claimed), the person on duty (named by themselves, for a point where one
account serves everyone), and the SSH client address (only what the session says).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from typing import Any

from .errors import FieldError
from .rules import strip_controls

ON_DUTY_MAX = 40


def on_duty_name(text: str) -> str:
    """The name a person on duty gives: shown literally, so control characters and
    reordering marks go; an empty or too long one is refused, never cut."""
    if any("\ud800" <= ch <= "\udfff" for ch in text):
        # Bytes the locale could not decode (a GBK terminal): no text to store or show.
        raise FieldError("on_duty", "error.not_text")
    name = strip_controls(text).strip()
    if not name:
        raise FieldError("on_duty", "error.required")
    if len(name) > ON_DUTY_MAX:
        raise FieldError("on_duty", "error.too_long", limit=ON_DUTY_MAX)
    return name


def claimed_address(text: str) -> str:
    """The first word of ``text`` when it is an IP address, else nothing: what a
    session says about its SSH client is kept only in a form that cannot mislead."""
    words = text.split()
    try:
        return str(ipaddress.ip_address(words[0])) if words else ""
    except ValueError:
        return ""


def audit_identity(entry: Mapping[str, Any]) -> dict[str, str]:
    """``os_user``, ``on_duty`` and ``ssh_client_claimed`` of an audit entry.

    Entries written before these fields had ``who`` (the login name the session
    gave) and ``host`` (its SSH client, or ``local``); they are read, not rewritten.
    """
    if "os_user" in entry:
        return {
            "os_user": entry["os_user"],
            "on_duty": entry.get("on_duty", ""),
            "ssh_client_claimed": entry.get("ssh_client_claimed", ""),
        }
    return {
        "os_user": entry.get("who", ""),
        "on_duty": "",
        "ssh_client_claimed": claimed_address(str(entry.get("host", ""))),
    }


def who_label(stamp: Mapping[str, Any]) -> str:
    """Who, as people read it: ``张三 (ops)`` for the person on duty and the account,
    else the account alone. Takes an audit entry or a record's stamp (``who``)."""
    user = stamp.get("os_user") or stamp.get("who", "")
    duty = stamp.get("on_duty", "")
    return f"{duty} ({user})" if duty else str(user)


def signer_label(name: str, stamp: Mapping[str, Any] | None) -> str:
    """A name typed to sign (or take over) a handover, as people read it: beside it
    the account that signed, unless it is that account's own name. Anyone may type
    anyone's name; the account is what the OS says."""
    user = str((stamp or {}).get("os_user") or (stamp or {}).get("who") or "")
    return f"{name} ({user})" if user and user != name else name
