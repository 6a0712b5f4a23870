"""A throwaway PostgreSQL server for the tests: initdb into a temporary folder, listen
on a Unix socket there only, stop and delete it at the end.

As root, PostgreSQL refuses to run, so the server runs as the ``postgres`` OS user
(whose the folder is). A machine without PostgreSQL fails the tests that need it:
`.ci/run` installs it from the system's packages first.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

ADMIN = "postgres"
OWNER = "isolation_owner"


def bindir() -> Path | None:
    """Where ``initdb`` and ``pg_ctl`` are: on PATH, from ``pg_config``, or the Debian folders."""
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    with contextlib.suppress(OSError, subprocess.CalledProcessError):
        out = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True, check=True)
        candidate = Path(out.stdout.strip())
        if (candidate / "initdb").exists():
            return candidate
    for candidate in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if Path(candidate, "initdb").exists():
            return Path(candidate)
    return None


@dataclass
class Server:
    folder: Path
    bindir: Path

    def url(self, database: str = "postgres", user: str = ADMIN) -> str:
        return f"postgresql://{user}@/{database}?host={self.folder}"

    def sql(self, statement: str, database: str = "postgres") -> None:
        """Run one statement as the administrator (roles, databases: test set-up only)."""
        import psycopg

        with psycopg.connect(self.url(database), autocommit=True) as conn:
            conn.execute(statement)  # type: ignore[arg-type]

    def new_database(self, owner: str = OWNER) -> str:
        """A fresh, empty database owned by an ordinary role; its URL as that role."""
        name = "t_" + uuid.uuid4().hex[:12]
        self.sql(f'CREATE DATABASE "{name}" OWNER "{owner}"')
        return self.url(name, owner)


def _as_server_user(argv: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return argv
    return ["runuser", "-u", ADMIN, "--", *argv]


@contextlib.contextmanager
def running_server() -> Iterator[Server]:
    found = bindir()
    if found is None:
        raise RuntimeError(
            "PostgreSQL is not installed (no initdb on PATH, from pg_config or in "
            "/usr/lib/postgresql/*/bin): install the `postgresql` package"
        )
    folder = Path(tempfile.mkdtemp(prefix="isolation-pg-"))
    if os.geteuid() == 0:
        user = pwd.getpwnam(ADMIN)
        os.chown(folder, user.pw_uid, user.pw_gid)
    data = folder / "data"
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.PIPE, "check": True}
    try:
        subprocess.run(
            _as_server_user(
                [str(found / "initdb"), "-D", str(data), "-U", ADMIN, "--auth=trust", "-E", "UTF8"]
            ),
            **quiet,  # type: ignore[call-overload]
        )
        options = (
            f"-k {folder} -c listen_addresses='' -c fsync=off -c shared_buffers=16MB "
            "-c max_connections=60"
        )
        subprocess.run(
            _as_server_user(
                [
                    str(found / "pg_ctl"),
                    "start",
                    "-w",
                    "-D",
                    str(data),
                    "-l",
                    str(folder / "log"),
                    "-o",
                    options,
                ]
            ),
            **quiet,  # type: ignore[call-overload]
        )
        server = Server(folder, found)
        server.sql(f'CREATE ROLE "{OWNER}" LOGIN')
        yield server
    finally:
        if (data / "postmaster.pid").exists():
            subprocess.run(
                _as_server_user(
                    [str(found / "pg_ctl"), "stop", "-D", str(data), "-m", "immediate"]
                ),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                check=False,
            )
        shutil.rmtree(folder, ignore_errors=True)


class TcpLink:
    """A TCP address in front of the server's Unix socket, as a supervisor on a weak
    network reaches it, which a test cuts and restores. Cut, the connections through
    it are dropped and new ones are accepted but never answered (a link that hangs
    rather than refuses: a client waits for its connect timeout)."""

    def __init__(self, server: Server) -> None:
        self.target = str(server.folder / ".s.PGSQL.5432")
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.up = True
        self.held: list[socket.socket] = []
        self.open: list[socket.socket] = []
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def url(self, url: str) -> str:
        """``url`` (a database on the server's socket) through this link."""
        parts = urlsplit(url)
        user = parts.netloc.partition("@")[0]
        return f"postgresql://{user}@127.0.0.1:{self.port}{parts.path}?sslmode=disable"

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            with self._lock:
                if not self.up:
                    self.held.append(client)
                    continue
                upstream = socket.socket(socket.AF_UNIX)
                upstream.connect(self.target)
                self.open += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                sink.sendall(data)
        for end in (source, sink):
            with contextlib.suppress(OSError):
                end.shutdown(socket.SHUT_RDWR)

    def cut(self) -> None:
        with self._lock:
            self.up = False
            for end in self.open:
                with contextlib.suppress(OSError):
                    end.shutdown(socket.SHUT_RDWR)
            self.open.clear()

    def restore(self) -> None:
        with self._lock:
            self.up = True
            for end in self.held:
                end.close()
            self.held.clear()

    def hanging(self) -> set[socket.socket]:
        """Connections accepted while cut that their client still waits on."""
        waiting = set()
        with self._lock:
            for end in self.held:
                end.setblocking(False)
                try:
                    while data := end.recv(65536):
                        del data
                except BlockingIOError:
                    waiting.add(end)
                except OSError:
                    pass
        return waiting

    def close(self) -> None:
        self.cut()
        self.listener.close()
        self.restore()
