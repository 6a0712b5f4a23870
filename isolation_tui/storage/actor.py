"""Who is making a change: the OS user, and the SSH client address when there is one."""

from __future__ import annotations

import getpass
import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Actor:
    user: str
    host: str

    def __str__(self) -> str:
        return f"{self.user}@{self.host}"


def current_actor(environ: dict[str, str] | None = None) -> Actor:
    env = os.environ if environ is None else environ
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = f"uid{os.getuid()}"
    ssh = env.get("SSH_CLIENT") or env.get("SSH_CONNECTION") or ""
    host = ssh.split()[0] if ssh.split() else "local"
    return Actor(user=user, host=host)
