"""Data-quality suites of the raw layer, derived from the landing contract.

Each raw entity table gets one check, judged on the deliveries a run ingested:
required columns and types, non-null values, keys unique per delivery,
accepted values, patterns, minimums, date order, facts not dated after their
delivery and references resolving within the same delivery. No rule spans
deliveries, so the rows are read and validated a few whole deliveries at a
time, which bounds memory however many deliveries are judged. A snapshot
content that several judged deliveries carried is read once, and its verdict
holds for each of them.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import date
from typing import Any

import duckdb
import great_expectations.expectations as gxe
import pandas as pd
from great_expectations.expectations import Expectation

from orchestration.checks.gx_engine import (
    FrameSuite,
    expectation_meta,
    failing_groups,
    validate,
    validate_batches,
)
from orchestration.checks.outcome import CheckOutcome, FailedExpectation
from orchestration.checks.warehouse_io import bulk_frame, date_list, table_columns
from orchestration.ingest.contract import BY_NAME, ENTITIES, Entity

RAW_SCHEMA = "raw"
LINEAGE_COLUMNS = {"delivery_date": "DATE", "source_line": "BIGINT"}
ROW_LOCATION = ("delivery_date", "source_line")
# Rows read and validated at once, at most (unless one delivery has more).
BATCH_ROWS = 500_000
JUDGED = "judged"  # the data query's table of the delivery dates of its batch
FAILED_DELIVERIES = "failed_deliveries"  # stats key: deliveries that break a rule

# The date a fact row is about (SQL over the raw table aliased ``t``), per increment.
FACT_DATES: dict[str, tuple[str, str]] = {
    "usage": ("usage_date", "t.usage_date"),
    "token_events": ("event_date", "cast(t.event_ts as date)"),
}


def raw_check_name(entity: str) -> str:
    """Name of the check of one raw entity table, e.g. ``raw_usage_quality``."""
    return f"raw_{entity}_quality"


def check_raw_table(
    con: duckdb.DuckDBPyConnection,
    entity: Entity,
    delivery_dates: Sequence[date],
    batch_rows: int = BATCH_ROWS,
) -> CheckOutcome:
    """Validate the rows of ``raw.<entity>`` that came with ``delivery_dates``.

    The deliveries are validated in batches of about ``batch_rows`` rows; the
    outcome is the same as for one batch. ``stats["failed_deliveries"]`` lists
    the deliveries that break a rule (each failing batch is re-validated
    delivery by delivery); all of them when the table itself does.
    """
    name = raw_check_name(entity.name)
    deliveries = date_list(delivery_dates)
    schema_failures = validate(_schema_suite(con, entity)) + _unresolvable_references(con, entity)
    if schema_failures:
        stats = {FAILED_DELIVERIES: [d.isoformat() for d in deliveries]}
        return CheckOutcome.from_failures(name, schema_failures, ok_message="", stats=stats)
    counts = _rows_per_delivery(con, entity, deliveries)
    carriers = _content_carriers(con, entity, deliveries)
    batches = _batches({d: n for d, n in counts.items() if d in carriers}, batch_rows)
    rows = sum(counts.values())
    failed: list[date] = []

    def failing(suite: FrameSuite) -> None:
        days = suite.frame["delivery_date"].unique()
        culprits = days if len(days) == 1 else failing_groups(suite, "delivery_date")
        failed.extend(d for c in culprits for d in carriers[pd.Timestamp(c).date()])

    failures = validate_batches((_data_suite(con, entity, batch) for batch in batches), failing)
    if failures and not failed:  # a failure no single delivery shows: blame them all
        failed = deliveries
    return CheckOutcome.from_failures(
        name,
        failures,
        ok_message=f"{rows} rows of {len(deliveries)} deliveries valid",
        stats={
            "rows": rows,
            "deliveries": [d.isoformat() for d in deliveries],
            FAILED_DELIVERIES: [d.isoformat() for d in sorted(failed)],
        },
    )


def failed_deliveries(outcomes: Iterable[CheckOutcome]) -> list[date]:
    """The deliveries that failed any of ``outcomes`` (per ``stats["failed_deliveries"]``)."""
    failed = {d for o in outcomes if not o.passed for d in o.stats.get(FAILED_DELIVERIES, ())}
    return [date.fromisoformat(d) for d in sorted(failed)]


def check_raw_layer(
    con: duckdb.DuckDBPyConnection, delivery_dates: Sequence[date]
) -> list[CheckOutcome]:
    """Every raw entity table's check, in contract order."""
    return [check_raw_table(con, entity, delivery_dates) for entity in ENTITIES]


def _rows_per_delivery(
    con: duckdb.DuckDBPyConnection, entity: Entity, deliveries: list[date]
) -> dict[date, int]:
    """Row count of each of ``deliveries`` that has rows in ``raw.<entity>``, by date."""
    counts = con.execute(
        f"select delivery_date, count(*) from {RAW_SCHEMA}.{entity.name}"
        " where delivery_date in (select unnest(?::date[])) group by delivery_date order by 1",
        [deliveries],
    ).fetchall()
    return dict(counts)


def _content_carriers(
    con: duckdb.DuckDBPyConnection, entity: Entity, deliveries: list[date]
) -> dict[date, list[date]]:
    """The deliveries to read, each with the judged deliveries it stands for.

    Deliveries that carried the same stored snapshot content (``raw.snapshot_files``)
    have the same rows and the same referenced keys, so every rule gives them the same
    verdict: the content is read through its first judged delivery.
    """
    content: dict[date, str] = {}
    if entity.snapshot and table_columns(con, RAW_SCHEMA, "snapshot_files"):
        content = dict(
            con.execute(
                f"select delivery_date, content_key from {RAW_SCHEMA}.snapshot_files"
                " where file = ? and delivery_date in (select unnest(?::date[]))",
                [entity.file_name, deliveries],
            ).fetchall()
        )
    carriers: dict[object, list[date]] = {}
    for day in deliveries:
        carriers.setdefault(content.get(day, day), []).append(day)
    return {days[0]: days for days in carriers.values()}


def _batches(counts: Mapping[date, int], limit: int) -> Iterator[list[date]]:
    """Consecutive deliveries of at most ``limit`` rows together (a larger one alone)."""
    batch: list[date] = []
    size = 0
    for day, rows in counts.items():
        if batch and size + rows > limit:
            yield batch
            batch, size = [], 0
        batch.append(day)
        size += rows
    if batch:
        yield batch


def _required_types(entity: Entity) -> dict[str, str]:
    return {c.name: c.kind.sql_type for c in entity.columns} | LINEAGE_COLUMNS


def _unresolvable_references(
    con: duckdb.DuckDBPyConnection, entity: Entity
) -> list[FailedExpectation]:
    """References whose target table or key column is missing, so they cannot be checked."""
    failures = []
    for col in entity.columns:
        if not col.references:
            continue
        (key,) = BY_NAME[col.references].key
        if key not in table_columns(con, RAW_SCHEMA, col.references):
            failures.append(
                FailedExpectation(
                    expectation="reference_target_exists",
                    target=f"{entity.name}.{col.name}",
                    column=col.name,
                    rule=f"reference to {col.references}.{key}",
                    unexpected_count=None,
                    error=f"{RAW_SCHEMA}.{col.references} has no column {key}",
                )
            )
    return failures


def _schema_suite(con: duckdb.DuckDBPyConnection, entity: Entity) -> FrameSuite:
    """One row per required column: its contract type next to its DuckDB type (null if absent)."""
    actual = table_columns(con, RAW_SCHEMA, entity.name)
    required = _required_types(entity)
    columns = pd.DataFrame(
        {
            "column_name": list(required),
            "expected_type": list(required.values()),
            "actual_type": [actual.get(c) for c in required],
        }
    )
    expectation = gxe.ExpectColumnPairValuesToBeEqual(
        column_A="actual_type",
        column_B="expected_type",
        meta=expectation_meta(entity.name, "column missing or of the wrong type"),
    )
    return FrameSuite(f"{entity.name}_schema", columns, [expectation], ("column_name",))


def _data_suite(
    con: duckdb.DuckDBPyConnection, entity: Entity, deliveries: list[date]
) -> FrameSuite:
    """The entity's rows of ``deliveries`` (plus derived columns) and the contract's rules.

    Only the columns a rule reads are selected; rows come in delivery and line order.
    """
    table = entity.name
    selected = [f"t.{c}" for c in (*_checked_columns(entity), *LINEAGE_COLUMNS)]
    expectations: list[Expectation] = []

    # kwargs are the fields of ``expectation``, which differ from one class to the next.
    def add(expectation: type[Expectation], subject: str, rule: str, **kwargs: Any) -> None:
        meta = expectation_meta(f"{table}.{subject}", rule)
        expectations.append(expectation(meta=meta, **kwargs))

    for column in (*(c.name for c in entity.columns if not c.nullable), *LINEAGE_COLUMNS):
        add(gxe.ExpectColumnValuesToNotBeNull, column, "null value", column=column)
    add(
        gxe.ExpectCompoundColumnsToBeUnique,
        "+".join(entity.key),
        "duplicate key within a delivery",
        column_list=[*entity.key, "delivery_date"],
    )
    for col in entity.columns:
        if col.values:
            rule = "value not in " + "/".join(col.values)
            add(
                gxe.ExpectColumnValuesToBeInSet,
                col.name,
                rule,
                column=col.name,
                value_set=list(col.values),
            )
        if col.pattern:
            rule = f"value not matching {col.pattern}"
            add(
                gxe.ExpectColumnValuesToMatchRegex,
                col.name,
                rule,
                column=col.name,
                regex=rf"\A(?:{col.pattern})\Z",
            )
        if col.references:
            ref = BY_NAME[col.references]
            selected.append(_unknown_reference_sql(col.name, ref))
            rule = f"unknown {ref.name} reference in its delivery"
            add(gxe.ExpectColumnValuesToBeNull, col.name, rule, column=f"unknown__{col.name}")
    for column, minimum in entity.minimum:
        add(
            gxe.ExpectColumnValuesToBeBetween,
            column,
            f"value below {minimum}",
            column=column,
            min_value=minimum,
        )
    for column, maximum in entity.maximum:
        add(
            gxe.ExpectColumnValuesToBeBetween,
            column,
            f"value above {maximum}",
            column=column,
            max_value=maximum,
        )
    for earlier, later in entity.ordered_dates:
        add(
            gxe.ExpectColumnPairValuesAToBeGreaterThanB,
            earlier,
            f"{earlier} after {later}",
            column_A=later,
            column_B=earlier,
            or_equal=True,
        )
    rows = bulk_frame(
        con,
        f"with {JUDGED} as (select unnest(?::date[]) as delivery_date)"
        f" select {', '.join(selected)} from {RAW_SCHEMA}.{table} t"
        f" where t.delivery_date in (select delivery_date from {JUDGED})"
        f" order by {', '.join(f't.{c}' for c in ROW_LOCATION)}",
        [deliveries],
    )
    return FrameSuite(f"{table}_data", rows, expectations, ROW_LOCATION)


def _checked_columns(entity: Entity) -> list[str]:
    """The entity's columns some rule reads: all but nullable ones without a rule."""
    ruled = {
        *entity.key,
        *(column for column, _ in entity.minimum),
        *(column for pair in entity.ordered_dates for column in pair),
    }
    return [
        c.name
        for c in entity.columns
        if not c.nullable or c.values or c.pattern or c.references or c.name in ruled
    ]


def _unknown_reference_sql(column: str, ref: Entity) -> str:
    """The value of ``column`` when no row of ``ref`` in the same delivery has it as key.

    ``ref`` is read for the judged deliveries only (redundant with the delivery
    match, but it spares hashing all of ``ref`` for each batch).
    """
    (key,) = ref.key
    return (
        f"case when t.{column} is not null and not exists (select 1 from {RAW_SCHEMA}.{ref.name} r"
        f" where r.delivery_date = t.delivery_date and r.{key} = t.{column}"
        f" and r.delivery_date in (select delivery_date from {JUDGED}))"
        f" then t.{column} end as unknown__{column}"
    )
