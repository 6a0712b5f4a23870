"""File operations a hostile colleague cannot turn against the user.

Supervisors share a data folder (often one group, mode 2770). Anyone who can write
there can plant a symlink at a name the program will use, so: no database file is
opened through a symlink or as anything but a regular file; every new file gets an
unpredictable name and is created ``O_CREAT|O_EXCL|O_NOFOLLOW``, never reopened; a
finished file reaches its name by ``rename``/``link``, which replace or refuse a link
but never write through it; a stale temp file is removed only when it is a regular
file of our own.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import secrets
import stat
import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from ..i18n import t
from .errors import StoreBusy, StoreDenied, StoreError, StoreUnsafe, StoreWriteFailed

FILE_MODE = 0o600
TEMP_MARK = ".tmp-"
LOCK_TIMEOUT_ENV = "ISOLATION_TUI_LOCK_TIMEOUT"
DEFAULT_LOCK_TIMEOUT = 30.0
LOCK_NOTICE_AFTER = 1.0

_SAFE = os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK


def write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def describe_os_error(exc: OSError, path: Path) -> str:
    if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
        return t("store.disk_full", path=path, error=exc.strerror)
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return t("store.cannot_write", path=path, error=exc.strerror)
    return t("store.io_error", path=path, error=exc.strerror or exc)


def denied(exc: OSError, path: Path) -> StoreDenied:
    return StoreDenied(t("store.denied", path=path, error=exc.strerror))


def lstat_or_none(path: Path) -> os.stat_result | None:
    """The file's own status (a link's, not its target's); None when there is none."""
    try:
        return os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):
        return None
    except PermissionError as exc:
        raise denied(exc, path) from exc


def refuse_link(path: Path) -> os.stat_result | None:
    """Refuse ``path`` unless it is a regular file or absent."""
    st = lstat_or_none(path)
    if st is not None and not stat.S_ISREG(st.st_mode):
        key = "store.symlink" if stat.S_ISLNK(st.st_mode) else "store.not_regular"
        raise StoreUnsafe(t(key, path=path))
    return st


def open_regular(path: Path, flags: int, mode: int = FILE_MODE) -> int:
    """``open(2)`` that never follows a symlink at ``path`` and keeps only a regular
    file (a FIFO planted there would block a reader forever)."""
    try:
        fd = os.open(path, flags | _SAFE, mode)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise StoreUnsafe(t("store.symlink", path=path)) from exc
        raise
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise StoreUnsafe(t("store.not_regular", path=path))
    return fd


def read_regular(path: Path) -> tuple[bytes, os.stat_result]:
    """The whole file and its status; ``FileNotFoundError`` when it is not there."""
    try:
        fd = open_regular(path, os.O_RDONLY)
    except PermissionError as exc:
        raise denied(exc, path) from exc
    try:
        st = os.fstat(fd)
        chunks = []
        while chunk := os.read(fd, max(st.st_size, 1 << 16)):
            chunks.append(chunk)
        return b"".join(chunks), st
    finally:
        os.close(fd)


def open_private(path: Path, flags: int) -> int:
    """Open ``path``, making it if absent: a file made now is the owner's only (0600
    whatever the umask), one already there keeps the mode it has (an administrator
    may share it with a group)."""
    try:
        fd = open_regular(path, flags | os.O_CREAT | os.O_EXCL)
    except FileExistsError:
        return open_regular(path, flags & ~os.O_CREAT)
    with contextlib.suppress(OSError):
        os.fchmod(fd, FILE_MODE)
    return fd


def create_temp(target: Path, access: int = os.O_WRONLY) -> tuple[int, Path]:
    """A new, empty, private file beside ``target`` under a name nobody can guess
    (``access``: ``os.O_RDWR`` for one read back before it is used)."""
    for _ in range(16):
        tmp = target.with_name(f"{target.name}{TEMP_MARK}{secrets.token_hex(8)}")
        try:
            fd = open_regular(tmp, access | os.O_CREAT | os.O_EXCL, FILE_MODE)
        except FileExistsError:
            continue
        with contextlib.suppress(OSError):
            os.fchmod(fd, FILE_MODE)
        return fd, tmp
    raise StoreUnsafe(t("store.temp_taken", path=target.parent))


def _fill(fd: int, tmp: Path, data: bytes) -> None:
    try:
        write_all(fd, data)
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    os.close(fd)


def temp_replacing(
    target: Path, like: Path | None = None, access: int = os.O_WRONLY
) -> tuple[int, Path]:
    """A new temp file (see ``create_temp``) to take the place of ``target``, with
    its mode and group (or those of ``like``). A ``target`` that is a symlink is
    refused."""
    before = refuse_link(target)
    if like is not None:
        before = refuse_link(like)
    fd, tmp = create_temp(target, access)
    if before is not None:
        # Keep what an administrator set (e.g. mode 0660 and a supervisors' group,
        # for several OS users on one database): a compaction must not take it away.
        with contextlib.suppress(OSError):
            os.fchown(fd, -1, before.st_gid)
        with contextlib.suppress(OSError):
            os.fchmod(fd, stat.S_IMODE(before.st_mode))
    return fd, tmp


def put_temp(tmp: Path, target: Path) -> None:
    """Rename the finished temp file ``tmp`` over ``target`` (never over a link) and
    make the rename durable; ``tmp`` is removed when that fails."""
    try:
        refuse_link(target)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    fsync_dir(target.parent)


def replace_file(target: Path, data: bytes) -> None:
    """Make ``target`` hold ``data``, all at once (temp file, fsync, rename, fsync the
    folder). A ``target`` that is a symlink is refused, not replaced."""
    fd, tmp = temp_replacing(target)
    _fill(fd, tmp, data)
    put_temp(tmp, target)


def write_new_file(dest: Path, data: bytes, *, replace: bool = False) -> None:
    """Write ``data`` to ``dest`` (0600, fsynced), which must not exist unless
    ``replace`` (``FileExistsError``). Nothing is ever seen at ``dest`` but the whole
    file, and a kill midway leaves nothing behind where the file system allows
    ``O_TMPFILE`` (a nameless file, linked into place once it is written)."""
    if not replace and lstat_or_none(dest) is not None:
        raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), str(dest))
    try:
        fd = os.open(dest.parent, os.O_WRONLY | os.O_TMPFILE | os.O_CLOEXEC, FILE_MODE)
    except OSError as exc:
        if exc.errno not in (errno.EOPNOTSUPP, errno.EISDIR, errno.EINVAL):
            raise
        fd, named = create_temp(dest)
        _fill(fd, named, data)
        _put_named(named, dest, replace)
        return
    try:
        with contextlib.suppress(OSError):
            os.fchmod(fd, FILE_MODE)
        write_all(fd, data)
        os.fsync(fd)
        if replace:
            _put_named(_link_fd(fd, dest, temp=True), dest, replace)
        else:
            _link_fd(fd, dest, temp=False)
    finally:
        os.close(fd)
    fsync_dir(dest.parent)


def _put_named(named: Path, dest: Path, replace: bool) -> None:
    try:
        if replace:
            refuse_link(dest)
            os.replace(named, dest)
        else:
            os.link(named, dest, follow_symlinks=False)
    finally:
        with contextlib.suppress(FileNotFoundError):
            named.unlink()
    fsync_dir(dest.parent)


def _link_fd(fd: int, dest: Path, *, temp: bool) -> Path:
    """Give the ``O_TMPFILE`` file ``fd`` the name ``dest`` (never replacing what is
    there), or with ``temp`` a fresh, unguessable name beside it."""
    folder = os.open(dest.parent, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        for _ in range(16):
            name = dest.name
            if temp:
                name = f"{dest.name}{TEMP_MARK}{secrets.token_hex(8)}"
            try:
                # A directory fd makes CPython call linkat(2), which can follow the
                # /proc link to the open file (link(2) would link the /proc entry).
                os.link(f"/proc/self/fd/{fd}", name, dst_dir_fd=folder, follow_symlinks=True)
            except FileExistsError:
                if temp:
                    continue
                raise
            return dest.with_name(name)
    finally:
        os.close(folder)
    raise StoreUnsafe(t("store.temp_taken", path=dest.parent))


def sweep_stale_temps(targets: Iterable[Path]) -> None:
    """Remove what a killed rewrite of ``targets`` left: regular files of our own
    named ``<target>.tmp-…`` (a partial snapshot holds personal data). Called inside
    the writers' lock, so no rewrite is under way but a snapshot written beside the
    writers, which its writer keeps locked."""
    prefixes = tuple(f"{target.name}{TEMP_MARK}" for target in targets)
    folder = next(iter(targets)).parent if prefixes else None
    if folder is None:
        return
    me = os.geteuid()
    with contextlib.suppress(OSError), os.scandir(folder) as entries:
        for entry in entries:
            if not entry.name.startswith(prefixes):
                continue
            with contextlib.suppress(OSError):
                st = entry.stat(follow_symlinks=False)
                if stat.S_ISREG(st.st_mode) and st.st_uid == me and not _in_use(entry.path):
                    os.unlink(entry.path)


def _in_use(path: str) -> bool:
    """Whether a live process holds ``path`` locked: a snapshot being written
    outside the writers' lock (see ``JournalStorage._write_aside``)."""
    fd = os.open(path, os.O_RDONLY | _SAFE)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


# ---------------------------------------------------------------- the writers' lock


def lock_timeout() -> float:
    """Seconds a writer waits for the lock: ``$ISOLATION_TUI_LOCK_TIMEOUT``, else 30."""
    raw = os.environ.get(LOCK_TIMEOUT_ENV, "").strip()
    if not raw:
        return DEFAULT_LOCK_TIMEOUT
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0 < value < 1e9:
        raise StoreError(t("store.lock_timeout_invalid", name=LOCK_TIMEOUT_ENV, value=raw))
    return value


class _LockWaiter(threading.Thread):
    """Waits in a blocking ``flock`` (the kernel wakes it as soon as the lock is
    free), so the caller can give up after a while without polling."""

    def __init__(self, fd: int) -> None:
        super().__init__(daemon=True, name="isolation-tui-lock")
        # A lock belongs to the open file description, which this copy shares.
        self._fd = os.dup(fd)
        self._guard = threading.Lock()
        self._abandoned = False
        self.error: OSError | None = None
        self.done = threading.Event()
        self.start()

    def run(self) -> None:
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX)
        except OSError as exc:
            self.error = exc
        with self._guard:
            if self._abandoned and self.error is None:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self.done.set()

    def abandon(self) -> bool:
        """Stop waiting; False when the lock was taken meanwhile (then keep it)."""
        with self._guard:
            if self.done.is_set():
                return False
            self._abandoned = True
            return True


def acquire_lock(fd: int, lock_path: Path, on_wait: Callable[[Path, float], None] | None) -> None:
    """Take the writers' lock on ``fd``. After a second of waiting, ``on_wait(path,
    limit)`` says so; after the limit, give up with ``StoreBusy``."""
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return
    except BlockingIOError:
        pass
    limit = lock_timeout()
    waiter = _LockWaiter(fd)
    if not waiter.done.wait(min(LOCK_NOTICE_AFTER, limit)):
        if on_wait is not None:
            on_wait(lock_path, limit)
        if not waiter.done.wait(max(limit - LOCK_NOTICE_AFTER, 0)) and waiter.abandon():
            raise StoreBusy(
                t("store.lock_timeout", path=lock_path, seconds=f"{limit:g}", name=LOCK_TIMEOUT_ENV)
            )
    waiter.done.wait()
    if waiter.error is not None:
        raise StoreWriteFailed(describe_os_error(waiter.error, lock_path)) from waiter.error


@contextlib.contextmanager
def holding_lock(
    lock_path: Path, on_wait: Callable[[Path, float], None] | None = None
) -> Iterator[int]:
    """The writers' lock of a database, taken without opening the database."""
    try:
        fd = open_private(lock_path, os.O_RDWR)
    except OSError as exc:
        raise StoreWriteFailed(describe_os_error(exc, lock_path)) from exc
    try:
        acquire_lock(fd, lock_path, on_wait)
        try:
            yield fd
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


@contextlib.contextmanager
def taking_turn(path: Path, *, wait: bool) -> Iterator[int | None]:
    """One process at a time on ``path`` (``flock``; a process that dies lets go):
    yields its descriptor, or None at once when another holds it and ``wait`` is
    false. Made the owner's only, or kept with the mode an administrator gave it (a
    group folder); a member who cannot write it still takes their turn."""
    try:
        try:
            fd = open_private(path, os.O_RDWR)
        except PermissionError:
            fd = open_regular(path, os.O_RDONLY)  # a lock needs no writing
    except OSError as exc:
        raise StoreWriteFailed(describe_os_error(exc, path)) from exc
    try:
        if wait:
            acquire_lock(fd, path, None)
        else:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield None
                return
        yield fd
    finally:
        os.close(fd)
