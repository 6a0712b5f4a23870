"""Who is making a change: the OS account of the real uid, the person on duty as they
named themselves (``--as``), and the SSH client address the session claims.

The account comes from the system's user database, never from ``$LOGNAME`` or
``$USER``, which anyone can set. ``$SSH_CLIENT`` is kept, but only as a claim.
"""

from __future__ import annotations

import os
import pwd
from collections.abc import Mapping
from dataclasses import dataclass

from ..domain.identity import claimed_address, on_duty_name


@dataclass(frozen=True)
class Actor:
    os_user: str
    ssh_client_claimed: str = ""
    on_duty: str = ""

    @property
    def name(self) -> str:
        """The name to sign with: the person on duty, else the account."""
        return self.on_duty or self.os_user

    def __str__(self) -> str:
        duty = f" ({self.on_duty})" if self.on_duty else ""
        where = f"@{self.ssh_client_claimed}" if self.ssh_client_claimed else ""
        return f"{self.os_user}{duty}{where}"


_session_on_duty = ""


def set_on_duty(name: str | None) -> None:
    """The person on duty for this process (``--as``), or nobody named (None).
    Raises :class:`FieldError` for a name that cannot be shown as given."""
    global _session_on_duty
    _session_on_duty = "" if name is None else on_duty_name(name)


def os_account() -> str:
    uid = os.getuid()
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid{uid}"


def current_actor(environ: Mapping[str, str] | None = None) -> Actor:
    env = os.environ if environ is None else environ
    ssh = env.get("SSH_CLIENT") or env.get("SSH_CONNECTION") or ""
    return Actor(os_account(), claimed_address(ssh), _session_on_duty)
