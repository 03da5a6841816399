"""Set-based ingest: many pending deliveries validated and loaded together.

Per entity, the files of every verified delivery are read by one DuckDB
``read_csv`` per header layout (``filename = true``); a record's physical line
comes from its position in its file (plus the file's embedded newlines when
records span lines). The checks of :mod:`orchestration.ingest.validate` then
run once over the whole batch, duplicate keys and references resolved within
each delivery. A file the set-based reader cannot read exactly (not UTF-8,
wrong field counts, blank lines) is staged by the per-file path of
:func:`orchestration.ingest.parsing.stage`, so the result is the same as
:func:`orchestration.ingest.loader.ingest` delivery by delivery. A delivery that
breaks the contract is left out of the batch; the others are loaded in one
transaction (each delivery all or nothing, a re-delivery replacing its rows).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

import duckdb

from orchestration.faults import crash_point
from orchestration.ingest.contract import ENTITIES, Entity
from orchestration.ingest.deliveries import (
    Delivery,
    DeliveryFile,
    InvalidDeliveryError,
    VerifiedDelivery,
    verify,
)
from orchestration.ingest.loader import (
    REFERENCED,
    DeliveryReport,
    FileReport,
    drop_temp_tables,
    insert_parse_rejects,
)
from orchestration.ingest.parsing import StagedFile, kept_sql, raw_column, raw_keys, stage
from orchestration.ingest.sql import TEMP_PREFIX, first_row, literal
from orchestration.ingest.validate import check, keys_table, typed

BATCH_DELIVERIES = 100  # deliveries per transaction (bounds the staged rows held at once)


@dataclass
class _Group:
    """The files of one entity sharing one header, staged into one table."""

    entity: Entity
    header: tuple[str, ...]
    table: str
    files: list[tuple[date, DeliveryFile]] = field(default_factory=list)
    checked: str = ""

    @property
    def width(self) -> int:
        return len(self.header)


@dataclass
class _Batch:
    """Per-delivery outcome of staging: records, parse rejects and the first failure."""

    records: dict[tuple[date, str], int] = field(default_factory=dict)
    parse_rejects: dict[tuple[date, str], StagedFile] = field(default_factory=dict)
    failures: dict[date, tuple[int, InvalidDeliveryError]] = field(default_factory=dict)

    def fail(self, day: date, order: int, err: InvalidDeliveryError) -> None:
        """Keep the failure of the delivery's first file in manifest order, as per file."""
        if day not in self.failures or order < self.failures[day][0]:
            self.failures[day] = (order, err)


def _groups(verified: list[VerifiedDelivery]) -> list[_Group]:
    """The batch's files grouped by entity and header, in validation order."""
    groups: dict[tuple[str, tuple[str, ...]], _Group] = {}
    for v in verified:
        for f in v.files:
            key = (f.entity.name, f.header)
            if key not in groups:
                table = f"{TEMP_PREFIX}grp{len(groups)}_{f.entity.name}"
                groups[key] = _Group(f.entity, f.header, table)
            groups[key].files.append((v.delivery.delivery_date, f))
    order = {e.name: i for i, e in enumerate(ENTITIES)}
    return sorted(groups.values(), key=lambda g: order[g.entity.name])


def _read(con: duckdb.DuckDBPyConnection, group: _Group, table: str) -> list[DeliveryFile]:
    """Append the group's files to ``table`` with DuckDB; the files it cannot read.

    A read that fails is split in halves until the failing files are isolated.
    """
    columns = ", ".join(f"{literal(raw_column(i))}: 'VARCHAR'" for i in range(group.width))
    unread: list[DeliveryFile] = []

    def load(files: list[DeliveryFile]) -> None:
        paths = ", ".join(literal(str(f.path)) for f in files)
        try:
            con.execute(
                f"INSERT INTO {table} SELECT * FROM read_csv([{paths}], "
                f"columns = {{{columns}}}, header = true, auto_detect = false, delim = ',', "
                "quote = '\"', escape = '\"', strict_mode = true, null_padding = false, "
                "encoding = 'utf-8', filename = true)"
            )
        except duckdb.Error:
            if len(files) == 1:
                unread.extend(files)
                return
            half = len(files) // 2
            load(files[:half])
            load(files[half:])

    load([f for _, f in group.files])
    return unread


def _embedded_newlines(width: int, alias: str) -> str:
    return " + ".join(
        f"coalesce(length({alias}.{c}) - length(replace({alias}.{c}, chr(10), '')), 0)"
        for c in (raw_column(i) for i in range(width))
    )


def _stage_group(
    con: duckdb.DuckDBPyConnection, group: _Group, orders: dict[str, int], batch: _Batch
) -> None:
    """Create ``group.table`` (delivery_date, line, c0..cN) from the group's files."""
    read = f"{group.table}_read"
    fields = [raw_column(i) for i in range(group.width)]
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {read} "
        f"({', '.join(f'{c} VARCHAR' for c in fields)}, filename VARCHAR)"
    )
    unread = set(map(id, _read(con, group, read)))
    stats = {
        name: (n, first)
        for name, n, first in con.execute(
            f"SELECT filename, count(*), min(rowid) FROM {read} GROUP BY filename"
        ).fetchall()
    }
    placed: list[tuple[date, DeliveryFile, int, bool]] = []  # (day, file, first rowid, multiline)
    exact: list[tuple[date, DeliveryFile]] = []
    embedded = _embedded_newlines(group.width, "r")
    for day, f in group.files:
        if id(f) in unread:
            exact.append((day, f))
            continue
        records, first = stats.get(str(f.path), (0, 0))
        # Newlines of a file without blank lines: header, one per record, embedded ones.
        expected = f.header_lines + records - (0 if f.ends_with_newline else 1)
        multiline = f.newlines != expected
        if multiline:
            ((total,),) = con.execute(
                f"SELECT coalesce(sum({embedded}), 0) FROM {read} r WHERE filename = ?",
                [str(f.path)],
            ).fetchall()
            if f.newlines != expected + total:
                exact.append((day, f))
                continue
        placed.append((day, f, first, multiline))
        if records != f.rows:
            reason = f"record count mismatch (manifest {f.rows}, file {records})"
            batch.fail(day, orders[str(f.path)], InvalidDeliveryError(day, reason, f.path.name))
        batch.records[(day, f.entity.name)] = records
    files = f"{group.table}_files"
    rows = [
        f"({literal(str(f.path))}, DATE '{day.isoformat()}', {first}, {f.header_lines + 1}, "
        f"{str(multiline).lower()})"
        for day, f, first, multiline in placed
    ]
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {files} (filename VARCHAR, delivery_date DATE, "
        "first_rowid BIGINT, first_line BIGINT, multiline BOOLEAN)"
    )
    if rows:
        con.execute(f"INSERT INTO {files} VALUES {', '.join(rows)}")
    cols = ", ".join(f"r.{c}" for c in fields)
    line = "r.rowid - f.first_rowid + f.first_line"
    before = "ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING"
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {group.table} AS "
        f"SELECT f.delivery_date, {line} AS line, {cols} "
        f"FROM {read} r JOIN {files} f USING (filename) WHERE NOT f.multiline "
        f"UNION ALL SELECT delivery_date, line + coalesce(sum(_nl) OVER "
        f"(PARTITION BY filename ORDER BY line {before}), 0), {', '.join(fields)} "
        f"FROM (SELECT f.delivery_date, filename, {line} AS line, {embedded} AS _nl, {cols} "
        f"FROM {read} r JOIN {files} f USING (filename) WHERE f.multiline)"
    )
    con.execute(f"DROP TABLE {read}")
    con.execute(f"DROP TABLE {files}")
    for day, f in exact:
        _stage_exact(con, group, day, f, orders[str(f.path)], batch)


def _stage_exact(
    con: duckdb.DuckDBPyConnection,
    group: _Group,
    day: date,
    file: DeliveryFile,
    order: int,
    batch: _Batch,
) -> None:
    """Stage one file by the per-file path and append it to the group's table."""
    table = f"{group.table}_exact"
    try:
        staged = stage(con, day, file, table)
    except InvalidDeliveryError as err:
        batch.fail(day, order, err)
        return
    fields = ", ".join(f"s.{raw_column(i)}" for i in range(group.width))
    con.execute(
        f"INSERT INTO {group.table} SELECT DATE '{day.isoformat()}', {staged.line_sql('s')}, "
        f"{fields} FROM {staged.table} s"
    )
    con.execute(f"DROP TABLE {staged.table}")
    batch.records[(day, file.entity.name)] = staged.records
    if staged.rejects:
        batch.parse_rejects[(day, file.entity.name)] = staged


def _check_groups(con: duckdb.DuckDBPyConnection, groups: list[_Group]) -> None:
    """Check every group in reference order, keeping each referenced entity's valid keys."""
    for entity in ENTITIES:
        mine = [g for g in groups if g.entity is entity]
        for g in mine:
            g.checked = f"{g.table}_chk"
            first = g.files[0][1]
            check(con, StagedFile(first, g.table, 0, (), None), g.checked, batched=True)
        if entity.name in REFERENCED:
            union = " UNION ALL ".join(
                f"SELECT delivery_date, {typed(entity.key[0])} AS k FROM {g.checked} "
                "WHERE reason = ''"
                for g in mine
            )
            empty = "SELECT NULL::DATE AS delivery_date, NULL::VARCHAR AS k WHERE false"
            con.execute(
                f"CREATE OR REPLACE TEMP TABLE {keys_table(entity.name)} AS {union or empty}"
            )


def _reports(
    con: duckdb.DuckDBPyConnection,
    verified: list[VerifiedDelivery],
    groups: list[_Group],
    b: _Batch,
) -> dict[date, DeliveryReport]:
    """The report of every delivery of the batch that staged without failure."""
    counts: dict[tuple[date, str], tuple[int, int]] = {}
    for g in groups:
        for day, loaded, bad in con.execute(
            f"SELECT delivery_date, count(*) FILTER (reason = ''), "
            f"count(*) FILTER (reason <> '') FROM {g.checked} GROUP BY delivery_date"
        ).fetchall():
            counts[(day, g.entity.name)] = (loaded, bad)
    reports = {}
    for v in verified:
        day = v.delivery.delivery_date
        if day in b.failures:
            continue
        files = {}
        for f in v.files:
            key = (day, f.entity.name)
            loaded, bad = counts.get(key, (0, 0))
            parse = b.parse_rejects.get(key)
            files[f.entity.file_name] = FileReport(
                rows=b.records[key],
                loaded=loaded,
                rejected=bad + (len(parse.rejects) if parse else 0),
                extra_columns=f.extra_columns,
            )
        ordered = {e.file_name: files[e.file_name] for e in ENTITIES}
        reports[day] = DeliveryReport(day, v.manifest_sha256, ordered)
    return reports


def _replace(
    con: duckdb.DuckDBPyConnection,
    reports: dict[date, DeliveryReport],
    groups: list[_Group],
    b: _Batch,
) -> None:
    """Swap the rows of every delivery of ``reports`` in every raw table, in one transaction."""
    days = f"{TEMP_PREFIX}days"
    con.execute(f"CREATE OR REPLACE TEMP TABLE {days} (delivery_date DATE)")
    con.executemany(f"INSERT INTO {days} VALUES (?)", [[d] for d in reports])
    mine = f"delivery_date IN (SELECT delivery_date FROM {days})"
    con.begin()
    try:
        for entity in ENTITIES:
            cols = ", ".join(entity.column_names)
            values = ", ".join(typed(c) for c in entity.column_names)
            con.execute(f"DELETE FROM raw.{entity.name} WHERE {mine}")
            for g in (g for g in groups if g.entity is entity):
                con.execute(
                    f"INSERT INTO raw.{entity.name} ({cols}, delivery_date, source_line) "
                    f"SELECT {values}, delivery_date, line FROM {g.checked} "
                    "WHERE reason = ''"
                )
        con.execute(f"DELETE FROM raw.quarantine WHERE {mine}")
        for g in groups:
            pairs = ", ".join(
                f"{literal(k)}, {kept_sql(f's.{raw_column(i)}')}"
                for i, k in enumerate(raw_keys(g.header))
            )
            con.execute(
                f"INSERT INTO raw.quarantine SELECT c.delivery_date, "
                f"{literal(g.entity.file_name)}, c.line, json_object({pairs})::VARCHAR, c.reason "
                f"FROM {g.checked} c JOIN {g.table} s "
                "ON s.delivery_date = c.delivery_date AND s.line = c.line "
                "WHERE c.reason <> ''"
            )
        for (day, _), staged in b.parse_rejects.items():
            if day in reports:
                insert_parse_rejects(con, staged, day)
        con.execute(f"DELETE FROM raw.deliveries WHERE {mine}")
        now = datetime.now(UTC).replace(tzinfo=None)
        con.executemany(
            "INSERT INTO raw.deliveries VALUES (?, ?, ?, ?)",
            [[d, r.manifest_sha256, now, r.files_json()] for d, r in reports.items()],
        )
        crash_point("ingest.before_commit")
        con.commit()
    except BaseException:
        con.rollback()
        raise


def _ingest_batch(
    con: duckdb.DuckDBPyConnection, deliveries: list[Delivery]
) -> dict[date, DeliveryReport | InvalidDeliveryError]:
    outcome: dict[date, DeliveryReport | InvalidDeliveryError] = {}
    verified = []
    for delivery in deliveries:
        try:
            verified.append(verify(delivery))
        except InvalidDeliveryError as err:
            outcome[delivery.delivery_date] = err
    groups = _groups(verified)
    orders = {str(f.path): i for v in verified for i, f in enumerate(v.files)}
    b = _Batch()
    for g in groups:
        _stage_group(con, g, orders, b)
    if b.failures:
        failed = ", ".join(f"DATE '{d.isoformat()}'" for d in b.failures)
        for g in groups:
            con.execute(f"DELETE FROM {g.table} WHERE delivery_date IN ({failed})")
    _check_groups(con, groups)
    reports = _reports(con, verified, groups, b)
    if reports:
        _replace(con, reports, groups, b)
    outcome |= {day: err for day, (_, err) in b.failures.items()} | reports
    return outcome


def ingest_pending(
    con: duckdb.DuckDBPyConnection, deliveries: list[Delivery], batch: int = BATCH_DELIVERIES
) -> Iterator[tuple[Delivery, DeliveryReport | InvalidDeliveryError]]:
    """Verify, validate and load ``deliveries``, ``batch`` at a time; each one's outcome.

    Yields, in the order given, the report of every delivery loaded or the
    :class:`InvalidDeliveryError` of every delivery refused (nothing of it loaded).
    """
    (ordered,) = first_row(con, "SELECT current_setting('preserve_insertion_order')")
    con.execute("SET preserve_insertion_order = true")  # rowid = record order within a file
    try:
        for start in range(0, len(deliveries), batch):
            chunk = deliveries[start : start + batch]
            try:
                outcome = _ingest_batch(con, chunk)
            finally:
                drop_temp_tables(con)
            for delivery in chunk:
                yield delivery, outcome[delivery.delivery_date]
    finally:
        con.execute(f"SET preserve_insertion_order = {ordered}")
