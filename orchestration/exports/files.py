"""Export paths and atomic writes (a reader never sees a partial file or folder)."""

from __future__ import annotations

import errno
import os
import re
import shutil
import socket
import tempfile
import time
from collections.abc import Callable
from contextlib import suppress
from datetime import date, datetime
from pathlib import Path
from typing import BinaryIO

from orchestration.faults import crash_point, failure_point

from .errors import ExportError, ExportRequestError

_TEAM_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
# A temp file whose writer is gone (or untouched this long) is removed by the next writer.
STALE_TEMP_SECONDS = 3600
# Temp names: .<name>.<pid>@<host>.<random>.tmp (pid and host of the writer).
_TEMP_WRITER = re.compile(r"([1-9][0-9]{0,9})@(.+)\.[a-z0-9_]+\.tmp")
# Folder names tried after <name> is taken: <name>-02 … <name>-99 (they sort after it).
MAX_FOLDER_SUFFIX = 99


def checked_team_id(team_id: object) -> str:
    """``team_id`` if it is safe to use in a path (``[A-Za-z0-9_-]{1,64}``), else refuse."""
    if not isinstance(team_id, str) or not _TEAM_ID.fullmatch(team_id):
        raise ExportRequestError(
            f"invalid team id {team_id!r}: expected 1 to 64 of A-Z, a-z, 0-9, '_' or '-'"
        )
    return team_id


def checked_date(value: object, name: str) -> date:
    """``value`` if it is a calendar date (not a datetime), else refuse."""
    if not isinstance(value, date) or isinstance(value, datetime):
        raise ExportRequestError(f"{name} must be a date, got {value!r}")
    return value


def workbook_path(exports_dir: Path, team_id: str, as_of: date) -> Path:
    """``<exports>/<team_id>/<as_of>/flex_usage_<team_id>_<as_of>.xlsx``."""
    team_id = checked_team_id(team_id)
    day = checked_date(as_of, "as_of").isoformat()
    return Path(exports_dir) / team_id / day / f"flex_usage_{team_id}_{day}.xlsx"


def on_demand_dir(exports_dir: Path, team_id: str, stamp: str) -> Path:
    """``<exports>/<team_id>/on-demand/<stamp>``."""
    return Path(exports_dir) / checked_team_id(team_id) / "on-demand" / stamp


def write_file_atomically(path: Path, write: Callable[[BinaryIO], object]) -> Path:
    """Write ``path`` through ``write`` into a temp file beside it, fsync, then rename.

    Temps of ``path`` left by killed writers are removed first; other writers' are kept.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    for temp in path.parent.glob(f".{path.name}.*.tmp"):
        if _is_stale(temp, path.name):
            temp.unlink(missing_ok=True)
    writer = f"{os.getpid()}@{socket.gethostname()}"
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.{writer}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o666 & ~process_umask())  # mkstemp's 0600 would lock other readers out
        with os.fdopen(fd, "wb") as handle:
            failure_point("export.write", path)
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        crash_point("export.before_rename")
        os.replace(tmp, path)
    except BaseException:
        with suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    _fsync_dir(path.parent)
    return path


def write_folder_atomically(target: Path, write: Callable[[Path], list[str]]) -> list[Path]:
    """Fill a temp folder beside ``target`` through ``write``, then publish it; return its files.

    ``write`` gets the temp folder, leaves its files complete (flushed, fsynced) and returns
    their names. The folder is renamed to ``target``, or to ``target-02``, ``target-03``…
    when that name is taken (the rename fails: no check-then-create race). On error the
    temp folder is removed and nothing is published; temp folders of killed exports are
    removed first (those of live writers are kept).
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    for temp in target.parent.glob(".*.tmp"):  # left by killed exports of this team
        if temp.is_dir() and _is_stale(temp, temp.name[1:].split(".", 1)[0]):
            shutil.rmtree(temp, ignore_errors=True)
    writer = f"{os.getpid()}@{socket.gethostname()}"
    tmp = Path(
        tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.{writer}.", suffix=".tmp")
    )
    try:
        tmp.chmod(0o777 & ~process_umask())  # mkdtemp's 0700 would lock other readers out
        names = write(tmp)
        _fsync_dir(tmp)
        folder = _publish(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _fsync_dir(target.parent)
    return [folder / name for name in names]


def process_umask() -> int:
    """The process umask, read without changing it (``/proc``; else a set-and-restore)."""
    with suppress(OSError, ValueError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _publish(tmp: Path, target: Path) -> Path:
    for number in range(1, MAX_FOLDER_SUFFIX + 1):
        folder = target if number == 1 else target.with_name(f"{target.name}-{number:02d}")
        try:
            os.rename(tmp, folder)  # fails when the name holds a (non-empty) export
            return folder
        except OSError as err:
            if err.errno not in (errno.EEXIST, errno.ENOTEMPTY):
                raise
    raise ExportError(f"export folders {target} to {target.name}-{MAX_FOLDER_SUFFIX} all exist")


def _is_stale(temp: Path, name: str) -> bool:
    """True for a temp of ``name`` untouched for an hour or whose writer on this host is gone."""
    try:
        if time.time() - temp.stat().st_mtime > STALE_TEMP_SECONDS:
            return True
    except FileNotFoundError:
        return False
    writer = _TEMP_WRITER.fullmatch(temp.name[len(name) + 2 :])
    return writer is not None and writer[2] == socket.gethostname() and not _alive(int(writer[1]))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except PermissionError:  # alive, another user's
        return True
    except (OSError, OverflowError):
        return False
    return True


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
