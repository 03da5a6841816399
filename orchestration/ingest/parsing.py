"""CSV parsing of one delivery file into a staging table of raw text.

The staging table has one VARCHAR column ``c<i>`` per header field, with
empty fields as NULL, and the line of each record's first physical line (the
header is line 1): a ``line`` column, or ``rowid`` plus a fixed offset when no
record spans several lines. DuckDB's CSV reader does the work; a file it
cannot read (bytes that are not UTF-8, a wrong number of fields, blank lines
that would shift line numbers) is parsed with Python's ``csv`` module instead,
and its unreadable records are returned as rejects.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from datetime import date

import duckdb
import pyarrow as pa

from orchestration.ingest.contract import KEPT_FIELD_CHARS, MAX_FIELD_CHARS
from orchestration.ingest.deliveries import DeliveryFile, InvalidDeliveryError, unbounded_csv_fields
from orchestration.ingest.sql import first_row, literal


@dataclass(frozen=True)
class Reject:
    """A record that could not be split into the header's fields."""

    line: int
    raw_values: str
    reason: str


@dataclass(frozen=True)
class StagedFile:
    """A parsed file: its staging table, record count and unreadable records.

    ``line_offset`` is None when the table has a ``line`` column, otherwise a
    record's line is its ``rowid`` plus this offset.
    """

    file: DeliveryFile
    table: str
    records: int
    rejects: tuple[Reject, ...]
    line_offset: int | None

    def line_sql(self, alias: str) -> str:
        """SQL expression of the record's line number for table alias ``alias``."""
        if self.line_offset is None:
            return f"{alias}.line"
        return f"{alias}.rowid + {self.line_offset}"


def raw_column(i: int) -> str:
    """Name of the staging column holding header field ``i``."""
    return f"c{i}"


def stage(con: duckdb.DuckDBPyConnection, day: date, file: DeliveryFile, table: str) -> StagedFile:
    """Parse ``file`` into the temporary table ``table`` and check its record count."""
    staged = parse(con, day, file, table)
    if staged.records != file.rows:
        raise count_mismatch(day, file, staged.records)
    return staged


def parse(con: duckdb.DuckDBPyConnection, day: date, file: DeliveryFile, table: str) -> StagedFile:
    """Parse ``file`` into the temporary table ``table`` (DuckDB, else Python's csv module)."""
    return _stage_duckdb(con, file, table) or _stage_python(con, day, file, table)


def count_mismatch(day: date, file: DeliveryFile, records: int) -> InvalidDeliveryError:
    """The error of a file whose record count differs from its manifest's."""
    reason = f"record count mismatch (manifest {file.rows}, file {records})"
    return InvalidDeliveryError(day, reason, file.path.name)


def _stage_duckdb(
    con: duckdb.DuckDBPyConnection, file: DeliveryFile, table: str
) -> StagedFile | None:
    """Read with DuckDB; None when DuckDB fails or line numbers cannot be derived."""
    width = len(file.header)
    columns = ", ".join(f"{literal(raw_column(i))}: 'VARCHAR'" for i in range(width))
    try:
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT * FROM read_csv("
            f"{literal(str(file.path))}, columns = {{{columns}}}, header = true, "
            "auto_detect = false, delim = ',', quote = '\"', escape = '\"', "
            "strict_mode = true, null_padding = false, encoding = 'utf-8')"
        )
    except duckdb.Error:
        con.execute(f"DROP TABLE IF EXISTS {table}")
        return None
    (records,) = first_row(con, f"SELECT count(*) FROM {table}")
    first = file.header_lines + 1
    # Newlines in a file without blank lines: header, one per record, embedded ones.
    expected = file.header_lines + records - (0 if file.ends_with_newline else 1)
    if file.newlines == expected:
        return StagedFile(file, table, records, (), first)
    fields = [raw_column(i) for i in range(width)]
    embedded = " + ".join(
        f"coalesce(length({c}) - length(replace({c}, chr(10), '')), 0)" for c in fields
    )
    (total,) = first_row(con, f"SELECT coalesce(sum({embedded}), 0) FROM {table}")
    if file.newlines != expected + total:
        con.execute(f"DROP TABLE {table}")
        return None
    lines = f"{table}_lines"
    before = "ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING"
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {lines} AS "
        f"SELECT line + coalesce(sum(_nl) OVER (ORDER BY line {before}), 0) AS line, "
        f"{', '.join(fields)} FROM (SELECT rowid + {first} AS line, {embedded} AS _nl, "
        f"{', '.join(fields)} FROM {table})"
    )
    con.execute(f"DROP TABLE {table}")
    return StagedFile(file, lines, records, (), None)


def long_field_reason(entity: str, key: str) -> str:
    """Reason of a record whose field ``key`` is longer than the contract's field limit."""
    return f"{entity}.{key}: field longer than {MAX_FIELD_CHARS:,} characters"


def kept_sql(value_sql: str) -> str:
    """SQL: a field as kept in ``raw_values`` (a too long field cut to its first characters)."""
    return (
        f"CASE WHEN length({value_sql}) > {MAX_FIELD_CHARS} "
        f"THEN left({value_sql}, {KEPT_FIELD_CHARS}) ELSE coalesce({value_sql}, '') END"
    )


def _kept(value: str) -> str:
    return value[:KEPT_FIELD_CHARS] if len(value) > MAX_FIELD_CHARS else value


def raw_keys(header: tuple[str, ...]) -> list[str]:
    """Keys of the header fields in ``raw_values``: a repeated name gets ``#<position>``."""
    return [h if h not in header[:i] else f"{h}#{i + 1}" for i, h in enumerate(header)]


def _printable(value: str) -> str:
    """Text of a field decoded with surrogateescape, invalid bytes shown as ``\\xNN``."""
    return value.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def _is_utf8(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _raw_json(header: tuple[str, ...], row: list[str]) -> str:
    values = {h: _printable(_kept(v)) for h, v in zip(raw_keys(header), row, strict=False)}
    for i in range(len(header), len(row)):
        values[f"#{i + 1}"] = _printable(_kept(row[i]))
    return json.dumps(values, ensure_ascii=False)


def _stage_python(
    con: duckdb.DuckDBPyConnection, day: date, file: DeliveryFile, table: str
) -> StagedFile:
    """Parse with Python's csv module, quarantining records it cannot split cleanly."""
    try:
        data = file.path.read_bytes()
    except OSError as err:
        reason = f"unreadable ({err.strerror or err})"
        raise InvalidDeliveryError(day, reason, file.path.name) from err
    text = data.decode("utf-8", "surrogateescape").removeprefix("\ufeff")
    width = len(file.header)
    name = file.entity.name
    lines: list[int] = []
    columns: list[list[str | None]] = [[] for _ in range(width)]
    rejects: list[Reject] = []
    records = 0
    previous = 0
    keys = raw_keys(file.header)
    try:
        with unbounded_csv_fields():
            reader = csv.reader(io.StringIO(text, newline=""), strict=True)
            for row in reader:
                start, previous = previous + 1, reader.line_num
                if start == 1 or not row:  # the header, or a blank line (not a record)
                    continue
                records += 1
                if len(row) == width:
                    reason = "; ".join(
                        f"{name}.{h}: invalid UTF-8 bytes"
                        for h, v in zip(keys, row, strict=True)
                        if not _is_utf8(v)
                    )
                else:
                    reason = f"{name}: wrong field count (found {len(row)}, header has {width})"
                if reason:
                    long = (
                        long_field_reason(name, k)
                        for k, v in zip(keys, row, strict=False)
                        if len(v) > MAX_FIELD_CHARS
                    )
                    reason = "; ".join([*long, reason])
                    rejects.append(Reject(start, _raw_json(file.header, row), reason))
                    continue
                lines.append(start)
                for column, value in zip(columns, row, strict=True):
                    column.append(value or None)
    except csv.Error as err:
        raise InvalidDeliveryError(
            day, f"unparsable CSV at line {previous + 1} ({err})", file.path.name
        ) from err
    arrow = pa.table(
        {"line": pa.array(lines, pa.int64())}
        | {raw_column(i): pa.array(columns[i], pa.string()) for i in range(width)}
    )
    view = f"{table}_arrow"
    con.register(view, arrow)
    try:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT * FROM {view}")
    finally:
        con.unregister(view)
    return StagedFile(file, table, records, tuple(rejects), None)
