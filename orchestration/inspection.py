"""`flex-usage status` and `flex-usage quarantine`: look inside without extra tools.

Both read the warehouse through a read-only connection under the shared reader lock.
A refresh holds the exclusive writer lock only while it writes (ingest, user hashes,
the dbt build, the raw checks), so a reader waits at most ``wait`` seconds for it and
then says so instead of hanging: ``status`` still prints what it knows from files
(landing folder, release, last refresh), ``quarantine`` fails with a clear message.
The last refresh run by the CLI is recorded next to the warehouse
(``<warehouse>.last_refresh.json``, replaced atomically).
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path

import duckdb

from orchestration.console import number, plural
from orchestration.ingest import deliveries as dlv
from orchestration.locks import WarehouseBusyError, refresh_running
from orchestration.warehouse import UncheckedReportsError, reading, released_as_of

RAW_VALUES_WIDTH = 160


@dataclass
class RefreshRecord:
    """What the last CLI refresh did (``status`` shows it)."""

    outcome: str  # done | FAILED
    as_of: str
    finished_at: str
    seconds: float
    summary: str
    warnings: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    run_ids: list[str] = field(default_factory=list)


def record_path(warehouse: Path) -> Path:
    return warehouse.with_name(warehouse.name + ".last_refresh.json")


def record_refresh(warehouse: Path, record: RefreshRecord) -> None:
    path = record_path(warehouse)
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temp.write_text(json.dumps(asdict(record), indent=1))
    os.replace(temp, path)


def last_refresh(warehouse: Path) -> RefreshRecord | None:
    try:
        return RefreshRecord(**json.loads(record_path(warehouse).read_text()))
    except (OSError, ValueError, TypeError):
        return None


def status_lines(landing: Path, warehouse: Path, wait: float) -> list[str]:
    """The state of the landing folder, the warehouse, its release and the last refresh."""
    lines = [_landing_line(landing)]
    running = refresh_running(warehouse)
    lines.append(f"refresh:    {'running now' if running else 'none running'}")
    record = last_refresh(warehouse)
    if record:
        lines.append(f"last:       {record.summary} (finished {record.finished_at})")
    else:
        lines.append("last:       no refresh recorded by the CLI for this warehouse")
    try:
        lines.append(f"release:    reports as of {released_as_of(warehouse)} (exports allowed)")
    except UncheckedReportsError:
        lines.append("release:    none: exports are refused until a refresh succeeds")
    lines += _warehouse_lines(warehouse, wait)
    if record and record.warnings:
        lines.append(f"warnings of the last refresh ({number(len(record.warnings))}):")
        lines += [f"  - {w}" for w in record.warnings]
    if record and record.failures:
        lines.append(f"failures of the last refresh ({number(len(record.failures))}):")
        lines += [f"  - {f}" for f in record.failures]
    return lines


def _landing_line(landing: Path) -> str:
    if not landing.is_dir():
        return f"landing:    {landing}: no such folder"
    complete = dlv.discover(landing, None)
    days = {d.delivery_date for d in complete}
    pending = sorted(
        p.name
        for p in landing.iterdir()
        if p.is_dir() and _day(p.name) and _day(p.name) not in days
    )
    newest = f"newest {max(days)}" if days else "none complete"
    waiting = f"; {plural(len(pending), 'folder')} without a manifest yet" if pending else ""
    count = plural(len(days), "complete delivery", "complete deliveries")
    return f"landing:    {landing}: {count}, {newest}{waiting}"


def _day(name: str) -> date | None:
    try:
        return date.fromisoformat(name)
    except ValueError:
        return None


def _warehouse_lines(warehouse: Path, wait: float) -> list[str]:
    if not warehouse.is_file():
        return [f"warehouse:  {warehouse}: not built yet"]
    try:
        with reading(warehouse, wait_seconds=wait) as con:
            [(loaded, newest)] = con.execute(
                "select count(*), max(delivery_date) from raw.deliveries"
            ).fetchall()
            [(quarantined,)] = con.execute("select count(*) from raw.quarantine").fetchall()
            blocking = _optional(con, "select delivery_date from raw.gate_failures order by 1")
    except WarehouseBusyError:
        return [
            f"warehouse:  {warehouse}: being written by a refresh (waited {wait:g} s); "
            "loaded deliveries and quarantine not shown, run again later"
        ]
    except duckdb.Error as err:
        return [f"warehouse:  {warehouse}: cannot be read: {err}"]
    lines = [
        f"warehouse:  {warehouse}: {plural(loaded, 'delivery', 'deliveries')} loaded, "
        f"newest {newest or '-'}; {plural(quarantined, 'row')} in quarantine"
        + (" (flex-usage quarantine)" if quarantined else "")
    ]
    if blocking:
        days = ", ".join(str(day) for (day,) in blocking)
        lines.append(
            f"blocking:   deliveries {days} failed a blocking raw check; they block every "
            "refresh until upstream re-delivers them"
        )
    return lines


def _optional(con: duckdb.DuckDBPyConnection, sql: str) -> list[tuple]:
    try:
        return con.execute(sql).fetchall()
    except duckdb.CatalogException:
        return []


def quarantine_lines(
    warehouse: Path,
    delivery: date | None,
    file: str | None,
    limit: int,
    wait: float,
    raw_width: int = RAW_VALUES_WIDTH,
) -> list[str]:
    """Quarantined rows, newest delivery first, each with its reason and raw values.

    Raises ``WarehouseBusyError`` when a refresh writes the warehouse for longer than
    ``wait`` seconds.
    """
    if not warehouse.is_file():
        raise FileNotFoundError(f"warehouse not built yet: {warehouse}")
    where: list[str] = []
    params: list[object] = []
    if delivery:
        where.append("delivery_date = ?")
        params.append(delivery)
    if file:
        where.append("file = ?")
        params.append(file)
    condition = ("where " + " and ".join(where)) if where else ""
    with reading(warehouse, wait_seconds=wait) as con:
        [(total,)] = con.execute(
            f"select count(*) from raw.quarantine {condition}", params
        ).fetchall()
        rows = con.execute(
            "select delivery_date, file, line, reason, raw_values from raw.quarantine "
            f"{condition} order by delivery_date desc, file, line limit ?",
            [*params, limit],
        ).fetchall()
    scope = " ".join(
        part for part in (f"delivery {delivery}" if delivery else "", file or "") if part
    )
    head = f"{plural(total, 'quarantined row')}" + (f" ({scope})" if scope else "")
    if total > len(rows):
        head += f"; showing {number(len(rows))}, newest delivery first (--limit)"
    lines = [head]
    for day, name, line, reason, raw in rows:
        lines.append(f"{day} {name}:{line}: {reason}")
        lines.append(f"    raw: {_shorten(raw, raw_width)}")
    return lines


def _shorten(text: str | None, width: int) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= width else text[: width - 1] + "…"
