"""Removal of old export folders.

* Nightly folders ``<exports>/<name>/<YYYY-MM-DD>/`` (the teams' workbooks, and the
  outbox's days) dated ``FLEX_EXPORTS_KEEP_DAYS`` (35) or more days before the run's
  as-of date, except the newest folder of each team that holds its workbook;
* index files ``<exports>/index/<YYYY-MM-DD>.csv|.html`` by the same rule;
* on-demand folders ``<exports>/<team>/on-demand/<YYYYMMDDTHHMMSSZ>[-NN]/`` created
  ``FLEX_ON_DEMAND_KEEP_DAYS`` (14) days or more before now.

Only names of those shapes are considered. Symbolic links are never followed nor removed,
and nothing whose real path lies outside the exports folder is touched.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ENV_KEEP_DAYS = "FLEX_EXPORTS_KEEP_DAYS"
ENV_ON_DEMAND_KEEP_DAYS = "FLEX_ON_DEMAND_KEEP_DAYS"
DEFAULT_KEEP_DAYS = 35
DEFAULT_ON_DEMAND_KEEP_DAYS = 14

_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_INDEX_FILE = re.compile(r"(\d{4}-\d{2}-\d{2})\.(csv|html)")
_STAMP = re.compile(r"(\d{8}T\d{6}Z)(-\d{2})?")


@dataclass(frozen=True)
class RetentionPolicy:
    nightly_days: int = DEFAULT_KEEP_DAYS
    on_demand_days: int = DEFAULT_ON_DEMAND_KEEP_DAYS

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> RetentionPolicy:
        return cls(
            _days(env, ENV_KEEP_DAYS, DEFAULT_KEEP_DAYS),
            _days(env, ENV_ON_DEMAND_KEEP_DAYS, DEFAULT_ON_DEMAND_KEEP_DAYS),
        )


def _days(env: Mapping[str, str], name: str, default: int) -> int:
    text = env.get(name, "").strip()
    if not text:
        return default
    if not text.isdigit() or int(text) < 1:
        raise ValueError(f"{name} must be a whole number of days, at least 1: {text!r}")
    return int(text)


def clean_exports(
    exports_dir: Path, as_of: date, now: datetime, policy: RetentionPolicy
) -> list[Path]:
    """Remove what the policy says is too old; the paths removed."""
    root = Path(exports_dir)
    if root.is_symlink() or not root.is_dir():
        return []
    real_root = root.resolve()
    nightly_limit = as_of - timedelta(days=policy.nightly_days)  # this date and older go
    on_demand_limit = now.astimezone(UTC) - timedelta(days=policy.on_demand_days)
    removed: list[Path] = []
    for top in _real_dirs(root):
        parsed = {d: _parse_day(d.name) for d in _real_dirs(top) if _DAY.fullmatch(d.name)}
        dated = {d: day for d, day in parsed.items() if day is not None}
        workbooks = [
            d for d, day in dated.items() if (d / f"flex_usage_{top.name}_{day}.xlsx").is_file()
        ]
        newest = max(workbooks, key=dated.__getitem__, default=None)
        for folder, day in sorted(dated.items()):
            if day <= nightly_limit and folder != newest:
                removed += _remove(folder, real_root)
        on_demand = top / "on-demand"
        if on_demand.is_dir() and not on_demand.is_symlink():
            for folder in _real_dirs(on_demand):
                stamp = _parse_stamp(folder.name)
                if stamp is not None and stamp <= on_demand_limit:
                    removed += _remove(folder, real_root)
        if top.name == "index":
            for entry in sorted(top.iterdir()):
                match = _INDEX_FILE.fullmatch(entry.name)
                index_day = _parse_day(match[1]) if match else None
                if index_day is not None and index_day <= nightly_limit and _is_plain_file(entry):
                    removed += _remove(entry, real_root)
    return removed


def _real_dirs(folder: Path) -> list[Path]:
    """Sub-folders that are real directories (symbolic links left out), by name."""
    with os.scandir(folder) as entries:
        return sorted(Path(e.path) for e in entries if e.is_dir(follow_symlinks=False))


def _is_plain_file(path: Path) -> bool:
    return path.is_file() and not path.is_symlink()


def _parse_day(text: str) -> date | None:
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def _parse_stamp(name: str) -> datetime | None:
    match = _STAMP.fullmatch(name)
    if not match:
        return None
    try:
        return datetime.strptime(match[1], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError:
        return None


def _remove(path: Path, real_root: Path) -> list[Path]:
    """Remove ``path`` (a real file or folder inside the exports); ``[path]`` when done.

    ``shutil.rmtree`` removes links inside a folder without following them.
    """
    if path.is_symlink() or not path.resolve().is_relative_to(real_root):
        return []
    if path.is_dir():
        shutil.rmtree(path)
    else:
        path.unlink()
    return [path]
