"""Set-based ingest: many pending deliveries validated and loaded together.

Per entity, the files of every verified delivery are read by one DuckDB
``read_csv`` per header layout (``filename = true``); a record's physical line
comes from its position in its file (plus the file's embedded newlines when
records span lines). The checks of :mod:`orchestration.ingest.validate` then
run once over the whole batch, duplicate keys and references resolved within
each delivery. A file the set-based reader cannot read exactly (not UTF-8,
wrong field counts, blank lines) is parsed by the per-file path of
:func:`orchestration.ingest.parsing.parse`, so the result is the same as
:func:`orchestration.ingest.loader.ingest` delivery by delivery.

A snapshot file whose content key (:mod:`orchestration.ingest.content`) is
already loaded, by an earlier run or by an earlier delivery of the batch, is not
parsed again: its rows are stored once per content, and its rejects are copied
from the delivery that parsed it. A delivery that
breaks the contract is left out; the others are loaded in one transaction per
batch (each delivery all or nothing, a re-delivery replacing its rows).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date

import duckdb

from orchestration.faults import crash_point
from orchestration.ingest.content import (
    SNAPSHOTS,
    content_keys,
    contents_table,
    store_contents,
)
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
    record_loaded,
)
from orchestration.ingest.parsing import (
    StagedFile,
    count_mismatch,
    kept_sql,
    parse,
    raw_column,
    raw_keys,
)
from orchestration.ingest.sql import TEMP_PREFIX, first_row, literal, transaction
from orchestration.ingest.validate import check, keys_table, typed

BATCH_DELIVERIES = 100  # deliveries per transaction (bounds the staged rows held at once)


@dataclass
class _Group:
    """The parsed files of one entity sharing one header, staged into one table."""

    entity: Entity
    header: tuple[str, ...]
    table: str
    files: list[tuple[date, DeliveryFile]] = field(default_factory=list)
    checked: str = ""

    @property
    def width(self) -> int:
        return len(self.header)


@dataclass(frozen=True)
class _Source:
    """Where a delivery's file gets its rows: the delivery that parses it in this batch, or
    (``stored`` set: that delivery's figures from ``raw.deliveries``) an earlier load."""

    day: date
    stored: dict | None = None


@dataclass
class _Batch:
    """What planning and staging learned.

    ``sources``: (delivery, entity) -> its :class:`_Source`; ``records``,
    ``parse_rejects`` and ``errors`` are keyed by (parsing delivery, entity);
    ``failures``: a refused delivery's first failing file (manifest order) and error.
    """

    sources: dict[tuple[date, str], _Source] = field(default_factory=dict)
    contents: dict[date, dict[str, str]] = field(default_factory=dict)
    records: dict[tuple[date, str], int] = field(default_factory=dict)
    parse_rejects: dict[tuple[date, str], StagedFile] = field(default_factory=dict)
    errors: dict[tuple[date, str], InvalidDeliveryError] = field(default_factory=dict)
    failures: dict[date, tuple[int, InvalidDeliveryError]] = field(default_factory=dict)

    def fail(self, day: date, order: int, err: InvalidDeliveryError) -> None:
        """Keep the failure of the delivery's first file in manifest order, as per file."""
        if day not in self.failures or order < self.failures[day][0]:
            self.failures[day] = (order, err)

    def parsed_by(self, src: date, entity: str) -> list[date]:
        """Deliveries whose ``entity`` file gets its rows from ``src``'s parse in this batch."""
        return [d for (d, e), s in self.sources.items() if e == entity and s == _Source(src)]


def _stored_contents(
    con: duckdb.DuckDBPyConnection, chunk: list[Delivery]
) -> dict[tuple[str, str], _Source]:
    """(file, content key) -> an earlier loaded delivery outside ``chunk`` holding it."""
    days = [d.delivery_date for d in chunk]
    found = con.execute(
        "SELECT f.file, f.content_key, f.delivery_date, d.files_json "
        "FROM raw.snapshot_files f JOIN raw.deliveries d USING (delivery_date) "
        "WHERE NOT list_contains(?, f.delivery_date) "
        "QUALIFY row_number() OVER (PARTITION BY f.file, f.content_key "
        "ORDER BY f.delivery_date) = 1",
        [days],
    ).fetchall()
    return {(file, key): _Source(day, json.loads(files)[file]) for file, key, day, files in found}


def _plan(
    con: duckdb.DuckDBPyConnection, chunk: list[Delivery], verified: list[VerifiedDelivery]
) -> tuple[_Batch, list[tuple[date, DeliveryFile]]]:
    """Each file's source; the files to parse (increments, snapshot contents not loaded yet)."""
    b = _Batch()
    stored = _stored_contents(con, chunk)
    first: dict[tuple[str, str], date] = {}
    todo = []
    for v in verified:
        day = v.delivery.delivery_date
        b.contents[day] = keys = content_keys(v.files)
        for f in v.files:
            name = f.entity.name
            key = (f.entity.file_name, keys.get(name, ""))
            if f.entity.snapshot and key in stored:
                b.sources[(day, name)] = stored[key]
            elif f.entity.snapshot and key in first:
                b.sources[(day, name)] = _Source(first[key])
            else:
                if f.entity.snapshot:
                    first[key] = day
                b.sources[(day, name)] = _Source(day)
                todo.append((day, f))
    return b, todo


def _resolve(verified: list[VerifiedDelivery], b: _Batch) -> None:
    """Refuse every delivery with a file that could not be parsed or miscounts its records."""
    for v in verified:
        day = v.delivery.delivery_date
        for order, f in enumerate(v.files):
            src = b.sources[(day, f.entity.name)]
            if src.stored is not None:
                records = src.stored["rows"]
            elif (err := b.errors.get((src.day, f.entity.name))) is not None:
                b.fail(day, order, InvalidDeliveryError(day, err.reason, err.file))
                continue
            else:
                records = b.records[(src.day, f.entity.name)]
            if records != f.rows:
                b.fail(day, order, count_mismatch(day, f, records))


def _groups(files: list[tuple[date, DeliveryFile]]) -> list[_Group]:
    """Files grouped by entity and header, in validation order."""
    groups: dict[tuple[str, tuple[str, ...]], _Group] = {}
    for day, f in files:
        key = (f.entity.name, f.header)
        if key not in groups:
            table = f"{TEMP_PREFIX}grp{len(groups)}_{f.entity.name}"
            groups[key] = _Group(f.entity, f.header, table)
        groups[key].files.append((day, f))
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


def _stage_group(con: duckdb.DuckDBPyConnection, group: _Group, batch: _Batch) -> None:
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
        _stage_exact(con, group, day, f, batch)


def _stage_exact(
    con: duckdb.DuckDBPyConnection, group: _Group, day: date, file: DeliveryFile, batch: _Batch
) -> None:
    """Parse one file by the per-file path and append it to the group's table."""
    try:
        staged = parse(con, day, file, f"{group.table}_exact")
    except InvalidDeliveryError as err:
        batch.errors[(day, file.entity.name)] = err
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


def _map_table(entity: Entity) -> str:
    """Temp table: every delivery of the batch, the delivery its ``entity`` rows come from
    (``src``), whether that one was loaded before (``stored``) and the content's key."""
    return f"{TEMP_PREFIX}map_{entity.name}"


def _create_maps(con: duckdb.DuckDBPyConnection, b: _Batch) -> None:
    for entity in SNAPSHOTS:
        table = _map_table(entity)
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {table} "
            "(delivery_date DATE, src DATE, stored BOOLEAN, content_key VARCHAR)"
        )
        rows = [
            [day, src.day, src.stored is not None, b.contents[day][name]]
            for (day, name), src in b.sources.items()
            if name == entity.name
        ]
        if rows:
            con.executemany(f"INSERT INTO {table} VALUES (?, ?, ?, ?)", rows)


def _check_groups(con: duckdb.DuckDBPyConnection, groups: list[_Group]) -> None:
    """Check every group in reference order, keeping each referenced entity's valid keys
    for every delivery of the batch (parsed here or copied from an earlier load)."""
    for entity in ENTITIES:
        mine = [g for g in groups if g.entity is entity]
        for g in mine:
            g.checked = f"{g.table}_chk"
            first = g.files[0][1]
            check(con, StagedFile(first, g.table, 0, (), None), g.checked, batched=True)
        if entity.name not in REFERENCED:
            continue
        key = entity.key[0]
        maps = _map_table(entity)
        parts = [
            f"SELECT m.delivery_date, c.{typed(key)} AS k FROM {g.checked} c "
            f"JOIN {maps} m ON m.src = c.delivery_date AND NOT m.stored WHERE c.reason = ''"
            for g in mine
        ]
        parts.append(
            f"SELECT m.delivery_date, r.{key} AS k FROM {contents_table(entity)} r "
            f"JOIN {maps} m ON m.content_key = r.content_key AND m.stored"
        )
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {keys_table(entity.name)} AS "
            + " UNION ALL ".join(parts)
        )


def _reports(
    con: duckdb.DuckDBPyConnection,
    verified: list[VerifiedDelivery],
    groups: list[_Group],
    b: _Batch,
) -> dict[date, DeliveryReport]:
    """The report of every delivery of the batch that is not refused."""
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
            src = b.sources[(day, f.entity.name)]
            if src.stored is not None:
                rows, loaded, rejected = (src.stored[k] for k in ("rows", "loaded", "rejected"))
            else:
                key = (src.day, f.entity.name)
                loaded, bad = counts.get(key, (0, 0))
                parse_rejects = b.parse_rejects.get(key)
                rows = b.records[key]
                rejected = bad + (len(parse_rejects.rejects) if parse_rejects else 0)
            files[f.entity.file_name] = FileReport(rows, loaded, rejected, f.extra_columns)
        ordered = {e.file_name: files[e.file_name] for e in ENTITIES}
        reports[day] = DeliveryReport(day, v.manifest_sha256, ordered)
    return reports


def _insert_rows(con: duckdb.DuckDBPyConnection, entity: Entity, groups: list[_Group], mine: str):
    """Insert the valid rows of ``entity`` of every delivery of the batch (``mine``); a
    snapshot's rows once per content parsed here (stored contents are already there)."""
    values = ", ".join(f"c.{typed(c)}" for c in entity.column_names)
    mine_groups = [g for g in groups if g.entity is entity]
    if not entity.snapshot:
        cols = ", ".join(entity.column_names)
        for g in mine_groups:
            con.execute(
                f"INSERT INTO raw.{entity.name} ({cols}, delivery_date, source_line) "
                f"SELECT {values}, c.delivery_date, c.line FROM {g.checked} c WHERE c.reason = ''"
            )
        return
    parsed = (
        f"SELECT DISTINCT src, content_key FROM {_map_table(entity)} WHERE NOT stored AND {mine}"
    )
    keys = [key for _, key in con.execute(parsed).fetchall()]
    selects = [
        f"SELECT m.content_key, {values}, c.line FROM {g.checked} c "
        f"JOIN ({parsed}) m ON m.src = c.delivery_date WHERE c.reason = ''"
        for g in mine_groups
    ]
    if keys and selects:
        store_contents(con, entity, keys, " UNION ALL ".join(selects))


def _insert_quarantine(
    con: duckdb.DuckDBPyConnection,
    groups: list[_Group],
    b: _Batch,
    reports: dict[date, DeliveryReport],
    mine: str,
) -> None:
    """Insert the rejected records of every delivery of the batch (``mine``)."""
    for g in groups:
        pairs = ", ".join(
            f"{literal(k)}, {kept_sql(f's.{raw_column(i)}')}"
            for i, k in enumerate(raw_keys(g.header))
        )
        day, join = "c.delivery_date", ""
        if g.entity.snapshot:
            day = "m.delivery_date"
            join = (
                f"JOIN {_map_table(g.entity)} m ON m.src = c.delivery_date AND NOT m.stored "
                f"AND m.{mine}"
            )
        con.execute(
            f"INSERT INTO raw.quarantine SELECT {day}, {literal(g.entity.file_name)}, c.line, "
            f"json_object({pairs})::VARCHAR, c.reason FROM {g.checked} c JOIN {g.table} s "
            f"ON s.delivery_date = c.delivery_date AND s.line = c.line {join} "
            "WHERE c.reason <> ''"
        )
    for (src, name), staged in b.parse_rejects.items():
        for delivery_date in b.parsed_by(src, name):
            if delivery_date in reports:
                insert_parse_rejects(con, staged, delivery_date)
    for entity in SNAPSHOTS:
        con.execute(
            "INSERT INTO raw.quarantine SELECT m.delivery_date, q.file, q.line, q.raw_values, "
            f"q.reason FROM raw.quarantine q JOIN {_map_table(entity)} m "
            f"ON m.src = q.delivery_date AND m.stored WHERE q.file = {literal(entity.file_name)} "
            f"AND m.{mine}"
        )


def _replace(
    con: duckdb.DuckDBPyConnection,
    reports: dict[date, DeliveryReport],
    groups: list[_Group],
    b: _Batch,
) -> None:
    """Swap the rows of every delivery of ``reports`` in every raw table, in one transaction.

    Rows copied from an earlier load come from deliveries outside the batch, which this
    transaction does not change.
    """
    days = f"{TEMP_PREFIX}days"
    con.execute(f"CREATE OR REPLACE TEMP TABLE {days} (delivery_date DATE)")
    con.executemany(f"INSERT INTO {days} VALUES (?)", [[d] for d in reports])
    mine = f"delivery_date IN (SELECT delivery_date FROM {days})"
    with transaction(con):
        for entity in ENTITIES:
            if not entity.snapshot:
                con.execute(f"DELETE FROM raw.{entity.name} WHERE {mine}")
            _insert_rows(con, entity, groups, mine)
        con.execute(f"DELETE FROM raw.quarantine WHERE {mine}")
        _insert_quarantine(con, groups, b, reports, mine)
        record_loaded(con, mine, [(r, b.contents[day]) for day, r in reports.items()])
        crash_point("ingest.before_commit")


def _ingest_batch(
    con: duckdb.DuckDBPyConnection, chunk: list[Delivery]
) -> dict[date, DeliveryReport | InvalidDeliveryError]:
    outcome: dict[date, DeliveryReport | InvalidDeliveryError] = {}
    verified = []
    for delivery in chunk:
        try:
            verified.append(verify(delivery))
        except InvalidDeliveryError as err:
            outcome[delivery.delivery_date] = err
    b, todo = _plan(con, chunk, verified)
    groups = _groups(todo)
    for g in groups:
        _stage_group(con, g, b)
    _resolve(verified, b)
    if b.failures:  # a refused delivery's snapshot rows may still be another one's source
        failed = ", ".join(f"DATE '{d.isoformat()}'" for d in b.failures)
        for g in (g for g in groups if not g.entity.snapshot):
            con.execute(f"DELETE FROM {g.table} WHERE delivery_date IN ({failed})")
    _create_maps(con, b)
    _check_groups(con, groups)
    reports = _reports(con, verified, groups, b)
    if reports:
        _replace(con, reports, groups, b)
    outcome.update({day: err for day, (_, err) in b.failures.items()})
    outcome.update(reports)
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
