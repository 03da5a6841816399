"""Advisory file locks that keep DuckDB's one-writer rule across processes.

DuckDB lets one process write a file, and a read-only connection cannot open
it while another process writes (nor can a writer open it while a reader has
it open). Every writer takes an exclusive lock on a sibling ``.lock`` file,
every reader a shared one, so they wait for each other instead of failing on
DuckDB's own lock.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Iterator
from pathlib import Path

# How long a reader or writer waits for the other side before failing clearly.
DEFAULT_WAIT_SECONDS = 600.0


class WarehouseBusyError(RuntimeError):
    """Another process holds the warehouse's lock for longer than we may wait."""


def lock_path(warehouse: Path) -> Path:
    return warehouse.with_name(warehouse.name + ".lock")


def _turn_path(warehouse: Path) -> Path:
    """The turnstile: a waiting writer holds it, so new readers queue behind the writer."""
    return warehouse.with_name(warehouse.name + ".lock.turn")


@contextlib.contextmanager
def _flock(path: Path, mode: int, deadline: float, busy: str) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o644)
    try:
        while True:
            try:
                fcntl.flock(fd, mode | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise WarehouseBusyError(busy) from None
                time.sleep(0.05)
        yield
    finally:
        os.close(fd)


@contextlib.contextmanager
def _rw_lock(warehouse: Path, mode: int, wait_seconds: float, busy: str) -> Iterator[None]:
    """The lock ``mode`` on the warehouse's lock file, taken through the turnstile.

    A writer holds the turnstile while it waits for the readers to leave, and every
    reader passes it before taking its shared lock: readers arriving one after the
    other can never keep a writer waiting for ever (writer starvation).
    """
    deadline = time.monotonic() + wait_seconds
    turn_mode = fcntl.LOCK_EX if mode == fcntl.LOCK_EX else fcntl.LOCK_SH
    with contextlib.ExitStack() as stack:
        with _flock(_turn_path(warehouse), turn_mode, deadline, busy):
            stack.enter_context(_flock(lock_path(warehouse), mode, deadline, busy))
        yield


def writer_lock(warehouse: Path, wait_seconds: float = 0.0) -> contextlib.AbstractContextManager:
    """Hold the exclusive writer lock; wait up to ``wait_seconds`` for it, then fail clearly."""
    return _rw_lock(
        warehouse,
        fcntl.LOCK_EX,
        wait_seconds,
        f"{warehouse} is being written or read by another process (lock "
        f"{lock_path(warehouse)} is held); wait for it to finish and run again",
    )


def reader_lock(
    warehouse: Path, wait_seconds: float = DEFAULT_WAIT_SECONDS
) -> contextlib.AbstractContextManager:
    """Hold a shared lock while reading: readers share it, a writer waits for them, and
    readers arriving while a writer waits queue behind it."""
    return _rw_lock(
        warehouse,
        fcntl.LOCK_SH,
        wait_seconds,
        f"{warehouse} is being written by a refresh (lock {lock_path(warehouse)} is held); "
        "run again when it has finished",
    )


# Refresh locks this process holds (path -> depth): the CLI takes the lock before it
# loads Dagster, and the refresh it then starts takes it again without waiting on itself.
_held_refresh_locks: dict[Path, int] = {}


@contextlib.contextmanager
def refresh_lock(warehouse: Path) -> Iterator[None]:
    """Held for a whole refresh: a second refresh of the same warehouse stops at once.

    Re-entrant within a process (flock would refuse a second descriptor of this process).
    """
    path = refresh_lock_path(warehouse)
    if path in _held_refresh_locks:
        _held_refresh_locks[path] += 1
        try:
            yield
        finally:
            _held_refresh_locks[path] -= 1
        return
    with _flock(
        path,
        fcntl.LOCK_EX,
        time.monotonic(),
        f"another refresh of {warehouse} is running; it was left alone. "
        "Run again when it has finished.",
    ):
        _held_refresh_locks[path] = 1
        try:
            yield
        finally:
            del _held_refresh_locks[path]


def refresh_lock_path(warehouse: Path) -> Path:
    path = Path(os.path.abspath(warehouse))
    return path.with_name(path.name + ".refresh.lock")


def refresh_running(warehouse: Path) -> bool:
    """True while a refresh (of another process) holds the warehouse's refresh lock."""
    path = refresh_lock_path(warehouse)
    if path in _held_refresh_locks:
        return True
    if not path.exists():
        return False
    fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False
