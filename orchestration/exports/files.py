"""Export paths and atomic writes (a reader never sees a partial file or folder)."""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from datetime import date, datetime
from pathlib import Path
from typing import BinaryIO

from orchestration.faults import crash_point

from .errors import ExportError, ExportRequestError

_TEAM_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


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


def write_file_atomically(path: Path, write: Callable[[BinaryIO], None]) -> Path:
    """Write ``path`` through ``write`` into a temp file beside it, fsync, then rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    for stale in path.parent.glob(f".{path.name}.*.tmp"):  # left by a killed writer
        stale.unlink(missing_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
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


@contextmanager
def folder_atomically(target: Path) -> Iterator[Path]:
    """Yield a temp folder beside ``target``; on success it is renamed to ``target``.

    Files written inside must be complete (flushed and fsynced) when the block ends.
    On error the temp folder is removed and ``target`` is left untouched.
    """
    if target.exists():
        raise ExportError(f"export folder already exists: {target}")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp"))
    try:
        yield tmp
        _fsync_dir(tmp)
        os.rename(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _fsync_dir(target.parent)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
