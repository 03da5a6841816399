"""Quality rules on small hand-made warehouses: the GX raw suites, reject gate and warnings,
and the dbt tests that hold the staged and report rules."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import dagster as dg
import duckdb
import pytest
from dbt_support import failures as dbt_failures
from dbt_support import query, run_dbt

from orchestration.checks import (
    check_freshness,
    check_raw_layer,
    check_raw_table,
    check_reject_rate,
    check_unallocated_tokens,
    raw_suites,
    reject_rates,
)
from orchestration.checks.advisories import check_future_dated, delivery_arrivals
from orchestration.checks.gate_state import raw_outcomes
from orchestration.checks.outcome import SAMPLE_SIZE, CheckOutcome, FailedExpectation, plain
from orchestration.checks.raw_suites import failed_deliveries
from orchestration.defs.check_results import (
    asset_check_result,
    raw_check_results,
    raw_check_specs,
)
from orchestration.ingest.contract import BY_NAME, ENTITIES
from tests.checks_support import D0, D1, RAW_DDL, USAGE_ROWS, build_raw


def _read_only_cases(tmp_path, prefix: str, build):
    """A fixture's body: ``_open(*statements)`` builds a fresh warehouse file with
    ``build(path, *statements)`` and opens it read-only; every file is closed at teardown."""
    opened = []

    def _open(*statements: str) -> duckdb.DuckDBPyConnection:
        path = _case_path(tmp_path, prefix)
        build(path, *statements)
        con = duckdb.connect(str(path), read_only=True)
        opened.append(con)
        return con

    yield _open
    for con in opened:
        con.close()


@pytest.fixture
def open_raw(tmp_path):
    """Build a raw warehouse with extra statements and open it read-only."""
    yield from _read_only_cases(tmp_path, "raw", build_raw)


def _quarantine(file: str, d: date, n: int) -> str:
    """Statement adding ``n`` rejected rows of ``file`` in delivery ``d``."""
    return (
        f"insert into raw.quarantine select date '{d}', '{file}', 1000 + i, '{{}}', 'bad'"
        f" from range({n}) t(i)"
    )


# ---------------------------------------------------------------- raw layer


def test_raw_layer_passes_on_clean_deliveries(open_raw):
    outcomes = check_raw_layer(open_raw(), [D1])
    assert [o.name for o in outcomes] == [
        "raw_teams_quality",
        "raw_users_quality",
        "raw_products_quality",
        "raw_team_members_quality",
        "raw_token_packs_quality",
        "raw_token_events_quality",
        "raw_usage_quality",
    ]
    assert all(o.passed and o.blocking and not o.failures for o in outcomes), [
        o.message for o in outcomes
    ]
    usage = outcomes[-1]
    assert usage.stats["rows"] == USAGE_ROWS
    assert usage.message == f"raw_usage_quality: {USAGE_ROWS} rows of 1 deliveries valid"


BAD_RAW = [
    pytest.param(
        "usage",
        "update raw.usage set usage_id = null where source_line = 5",
        "usage.usage_id: 1 x null value",
        id="null-key",
    ),
    pytest.param(
        "team_members",
        "update raw.team_members set role = null where source_line = 2",
        "team_members.role: 1 x null value",
        id="null-enum",
    ),
    pytest.param(
        "usage",
        "insert into raw.usage select * replace (9999 as source_line) from raw.usage"
        f" where usage_id = 'u007' and delivery_date = '{D1}'",
        "usage.usage_id: 2 x duplicate key within a delivery",
        id="duplicate-key",
    ),
    pytest.param(
        "team_members",
        f"insert into raw.team_members values ('T1', 'U1', 'user', '{D1}', 9)",
        "team_members.team_id+autodesk_id: 2 x duplicate key",
        id="duplicate-compound-key",
    ),
    pytest.param(
        "teams",
        "update raw.teams set status = 'deleted' where team_id = 'T2'",
        "teams.status: 1 x value not in active/merged",
        id="bad-enum-status",
    ),
    pytest.param(
        "token_events",
        "update raw.token_events set event_type = 'gift' where event_id like 'E-%'",
        "token_events.event_type: 1 x value not in purchase/",
        id="bad-enum-event-type",
    ),
    pytest.param(
        "products",
        "update raw.products set usage_category = 'desktop'",
        "products.usage_category: 2 x value not in DESKTOP_PRODUCT/CLOUD_SERVICE",
        id="bad-enum-category",
    ),
    pytest.param(
        "teams",
        "update raw.teams set team_id = 'T 1' where team_id = 'T1'",
        "teams.team_id: 1 x value not matching",
        id="bad-team-id-pattern",
    ),
    pytest.param(
        "usage",
        "update raw.usage set tokens = -5 where usage_id = 'u010'",
        "usage.tokens: 1 x value below 0",
        id="negative-tokens",
    ),
    pytest.param(
        "token_packs",
        "update raw.token_packs set tokens_purchased = 0",
        "token_packs.tokens_purchased: 1 x value below 1",
        id="zero-pack",
    ),
    pytest.param(
        "token_packs",
        "update raw.token_packs set start_date = date '2027-03-01'",
        "token_packs.start_date: 1 x start_date after end_date",
        id="start-after-end",
    ),
    pytest.param(
        "usage",
        "update raw.usage set product_line_code = 'XXX' where usage_id = 'u001'",
        "usage.product_line_code: 1 x unknown products reference",
        id="unknown-product",
    ),
    pytest.param(
        "usage",
        "update raw.usage set autodesk_id = 'U9' where usage_id = 'u002'",
        "usage.autodesk_id: 1 x unknown users reference",
        id="unknown-user",
    ),
    pytest.param(
        "usage",
        f"delete from raw.teams where team_id = 'T1' and delivery_date = '{D1}'",
        f"usage.team_id: {USAGE_ROWS} x unknown teams reference",
        id="team-only-in-other-delivery",
    ),
    pytest.param(
        "token_events",
        "update raw.token_events set subscription_id = 'S9'",
        "token_events.subscription_id: 2 x unknown token_packs reference",
        id="unknown-pack",
    ),
    pytest.param(
        "token_events",
        "update raw.token_events set team_id = 'T7' where event_id like 'M-%'",
        "token_events.team_id: 1 x unknown teams reference",
        id="unknown-event-team",
    ),
    pytest.param(
        "usage",
        "alter table raw.usage drop column version",
        "usage: 1 x column missing or of the wrong type"
        " (e.g. column_name=version actual_type=null expected_type=VARCHAR)",
        id="missing-column",
    ),
    pytest.param(
        "usage",
        "alter table raw.usage alter tokens type varchar",
        "usage: 1 x column missing or of the wrong type"
        " (e.g. column_name=tokens actual_type=VARCHAR expected_type=BIGINT)",
        id="wrong-type",
    ),
]


@pytest.mark.parametrize(("entity", "statement", "expected"), BAD_RAW)
def test_raw_table_fails_naming_the_column(open_raw, entity, statement, expected):
    con = open_raw(statement)
    outcome = check_raw_table(con, BY_NAME[entity], [D1])
    assert not outcome.passed
    assert outcome.blocking
    assert outcome.message.startswith(f"raw_{entity}_quality failed: ")
    assert expected in outcome.message


FUTURE_DATED = [
    pytest.param(
        f"update raw.usage set usage_date = date '{D1 + timedelta(days=1)}'"
        f" where usage_id = 'u004' and delivery_date = '{D1}'",
        "usage 1",
        id="future-usage-date",
    ),
    pytest.param(
        "update raw.token_events set event_ts = timestamp '2026-03-03 00:00:00'"
        " where event_id like 'E-%'",
        "token_events 1",
        id="future-event-ts",
    ),
]


@pytest.mark.parametrize(("statement", "expected"), FUTURE_DATED)
def test_facts_dated_after_their_delivery_warn_without_blocking(open_raw, statement, expected):
    assert check_future_dated(open_raw(), [D1]).passed
    con = open_raw(statement)
    outcome = check_future_dated(con, [D1])
    assert not outcome.passed and not outcome.blocking
    assert expected in outcome.message
    assert all(o.passed for o in check_raw_layer(con, [D1])), "not a blocking rule"


def test_missing_table_fails_its_check_and_the_references_to_it(open_raw):
    con = open_raw("drop table raw.products")
    products = check_raw_table(con, BY_NAME["products"], [D1])
    assert not products.passed
    assert products.failures[0].unexpected_count == 6  # 4 contract columns + 2 lineage columns
    assert "column_name=product_line_code actual_type=null" in products.message
    usage = check_raw_table(con, BY_NAME["usage"], [D1])
    assert not usage.passed
    assert usage.message == (
        "raw_usage_quality failed: usage.product_line_code: could not be checked"
        " (raw.products has no column product_line_code)"
    )


def test_raw_failure_details_locate_the_rows(open_raw):
    con = open_raw(
        f"update raw.usage set tokens = -5 where usage_id in ('u010', 'u020')"
        f" and delivery_date = '{D1}'"
    )
    (failure,) = check_raw_table(con, BY_NAME["usage"], [D1]).failures
    assert failure.expectation == "expect_column_values_to_be_between"
    assert failure.column == "tokens"
    assert failure.unexpected_count == 2
    assert list(failure.sample) == [-5, -5]
    assert [(r["delivery_date"], r["source_line"]) for r in failure.rows] == [
        (D1.isoformat(), 11),
        (D1.isoformat(), 21),
    ]


def test_history_is_not_judged(open_raw):
    bad_old_row = (
        f"update raw.usage set tokens = -1 where delivery_date = '{D0}' and usage_id = 'u003'"
    )
    con = open_raw(bad_old_row)
    assert check_raw_table(con, BY_NAME["usage"], [D1]).passed
    assert not check_raw_table(con, BY_NAME["usage"], [D0]).passed
    assert not check_raw_table(con, BY_NAME["usage"], [D0, D1]).passed


def test_same_key_in_two_deliveries_is_not_a_duplicate(open_raw):
    # Every usage_id is in both D0 and D1 already: judging both deliveries together passes.
    assert check_raw_table(open_raw(), BY_NAME["usage"], [D0, D1]).passed


def test_null_reference_in_nullable_column_is_allowed(open_raw):
    con = open_raw("update raw.token_events set related_team_id = null")
    assert check_raw_table(con, BY_NAME["token_events"], [D1]).passed


D2, D3 = D1 + timedelta(days=1), D1 + timedelta(days=2)


def _copy_delivery(table: str, day: date) -> str:
    """Statement adding to ``table`` a copy of its D1 rows as delivery ``day``."""
    return (
        f"insert into raw.{table} select * replace (date '{day}' as delivery_date)"
        f" from raw.{table} where delivery_date = '{D1}'"
    )


@pytest.mark.parametrize(
    ("batch_rows", "batches"), [(1, 4), (200, 2)], ids=["one-delivery", "two-deliveries"]
)
def test_batches_of_deliveries_give_the_outcome_of_one_batch(
    open_raw, monkeypatch, batch_rows, batches
):
    """Usage of four deliveries (99 or 100 rows each), bad rows in all of them."""
    con = open_raw(
        *(_copy_delivery(table, day) for table in RAW_DDL for day in (D2, D3)),
        f"update raw.usage set tokens = -1 where delivery_date in ('{D0}', '{D3}')"
        " and usage_id in ('u010', 'u020', 'u030', 'u040')",
        f"update raw.usage set product_line_code = 'XXX' where delivery_date = '{D2}'"
        " and usage_id = 'u005'",
        f"update raw.usage set version = null where delivery_date = '{D3}' and usage_id = 'u007'",
        "insert into raw.usage select * replace (500 as source_line) from raw.usage"
        f" where usage_id = 'u009' and delivery_date in ('{D1}', '{D3}')",
    )
    days = [D0, D1, D2, D3]
    reads = []
    read = raw_suites.bulk_frame
    monkeypatch.setattr(raw_suites, "bulk_frame", lambda *args: reads.append(args) or read(*args))
    whole = check_raw_table(con, BY_NAME["usage"], days, batch_rows=10 * USAGE_ROWS)
    batched = check_raw_table(con, BY_NAME["usage"], days, batch_rows=batch_rows)
    assert len(reads) == 1 + batches
    assert batched == whole
    assert [(f.target, f.unexpected_count) for f in batched.failures] == [
        ("usage.version", 1),
        ("usage.usage_id", 4),
        ("usage.product_line_code", 1),
        ("usage.tokens", 8),
    ]
    tokens = batched.failures[-1]
    assert len(tokens.rows) == SAMPLE_SIZE
    assert [(r["delivery_date"], r["source_line"]) for r in tokens.rows] == [
        *((D0.isoformat(), line) for line in (11, 21, 31, 41)),
        (D3.isoformat(), 11),
    ]
    assert batched.stats["rows"] == 4 * USAGE_ROWS + 2


@pytest.mark.parametrize("batch_rows", [1, 10_000], ids=["batch-per-delivery", "one-batch"])
def test_failed_deliveries_are_named_one_by_one(open_raw, batch_rows):
    con = open_raw(
        *(_copy_delivery(table, day) for table in RAW_DDL for day in (D2, D3)),
        f"update raw.usage set tokens = -1 where delivery_date = '{D2}' and usage_id = 'u010'",
        f"update raw.usage set version = null where delivery_date = '{D0}' and usage_id = 'u007'",
    )
    outcome = check_raw_table(con, BY_NAME["usage"], [D0, D1, D2, D3], batch_rows=batch_rows)
    assert not outcome.passed
    assert outcome.stats["failed_deliveries"] == [D0.isoformat(), D2.isoformat()]
    assert check_raw_table(con, BY_NAME["usage"], [D1, D3]).stats["failed_deliveries"] == []


def test_a_broken_table_fails_every_judged_delivery(open_raw):
    outcome = check_raw_table(open_raw("drop table raw.products"), BY_NAME["usage"], [D1, D0])
    assert outcome.stats["failed_deliveries"] == [D0.isoformat(), D1.isoformat()]


def test_failed_deliveries_of_all_raw_checks(open_raw):
    con = open_raw(
        _quarantine("usage.csv", D1, 2),
        f"update raw.users set email = null where delivery_date = '{D0}'",
    )
    outcomes = raw_outcomes(con, [D0, D1], threshold=0.01)
    by_name = {o.name: o.stats["failed_deliveries"] for o in outcomes}
    assert by_name["reject_rate_gate"] == [D1.isoformat()]
    assert by_name["raw_users_quality"] == [D0.isoformat()]
    assert by_name["raw_usage_quality"] == []
    assert failed_deliveries(outcomes) == [D0, D1]
    assert failed_deliveries(raw_outcomes(con, [D1], threshold=0.05)) == []


def test_no_deliveries_ingested_passes(open_raw):
    outcome = check_raw_table(open_raw("update raw.usage set tokens = -1"), BY_NAME["usage"], [])
    assert outcome.passed
    assert outcome.stats["rows"] == 0


# ---------------------------------------------------------------- dbt tests of the models

# The staged and report rules are dbt tests. They are compiled once; each case builds small
# tables, plants one fault and runs the compiled SQL of the tests: a test fails when its query
# returns rows or cannot run (a missing table or column fails dbt's test the same way).
CATALOG = "wh"  # file stem of every warehouse below: dbt's compiled SQL names it
SINGULAR = "singular"
# The one model-level test of a model's not-null columns (tests/generic/columns_not_null.sql).
NOT_NULL = "columns_not_null"
# The dbt tests compiled: those of the staging and report YAML, and two singular tests.
DBT_TESTS_USED = (
    "test_type:generic,staging",
    "test_type:generic,reports",
    "fct_daily_usage,test_name:unique_combination",
    "assert_report_summary_matches_subscriptions",
    "assert_report_range_totals_reconcile",
    "assert_drawdown_allocation_reconciles",
)


@pytest.fixture(scope="module")
def dbt_tests(tmp_path_factory) -> dict[tuple[str, str | None, str], dict]:
    """The compiled dbt tests, keyed (model or test name, column, generic test name)."""
    folder = tmp_path_factory.mktemp("dbt_tests")
    result = run_dbt(folder / f"{CATALOG}.duckdb", AS_OF, "compile", ["--select", *DBT_TESTS_USED])
    assert result.success, dbt_failures(result)
    manifest = json.loads((folder / f"{CATALOG}_dbt_target" / "manifest.json").read_text())
    tests = {}
    for node in manifest["nodes"].values():
        if node["resource_type"] != "test" or not node.get("compiled"):
            continue  # the manifest lists every node; only the selected ones are compiled
        if node.get("attached_node"):
            model = node["attached_node"].rsplit(".", 1)[-1]
            key = (model, node.get("column_name"), node["test_metadata"]["name"])
        else:
            key = (node["name"], None, SINGULAR)
        assert key not in tests, key
        tests[key] = node
    return tests


def dbt_test_rows(con: duckdb.DuckDBPyConnection, node: dict) -> list[dict] | None:
    """The rows a compiled dbt test returns (failures), or None when it cannot run."""
    try:
        cursor = con.execute(node["compiled_code"])
    except duckdb.Error:
        return None
    names = [c[0] for c in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def failing_tests(con: duckdb.DuckDBPyConnection, tests: dict, keys) -> set:
    """The keys of ``keys`` whose dbt test fails on ``con``.

    A model's ``columns_not_null`` test that returns rows stands for one key per column it
    names, ``(model, column, NOT_NULL)``: a planted null proves the test caught that column.
    """
    failing = set()
    for key in keys:
        rows = dbt_test_rows(con, tests[key])
        if key[2] == NOT_NULL and rows:
            failing |= {(key[0], row["column_name"], NOT_NULL) for row in rows}
        elif rows != []:
            failing.add(key)
    return failing


def _case_path(tmp_path, prefix: str) -> Path:
    """A fresh warehouse file named like the compiled catalog."""
    folder = tmp_path / f"{prefix}{len(list(tmp_path.glob(prefix + '*')))}"
    folder.mkdir()
    return folder / f"{CATALOG}.duckdb"


# ---------------------------------------------------------------- staged tables

# The staged tables as the dbt staging models define them, from the D1 delivery.
STAGED_SQL = {
    "stg_teams": "select * exclude (source_line) from raw.teams",
    "stg_users": "select * exclude (source_line) from raw.users",
    "stg_team_members": "select * exclude (source_line) from raw.team_members",
    "stg_products": "select * exclude (source_line) from raw.products",
    "stg_token_packs": "select * exclude (source_line) rename (team_id as purchasing_team_id)"
    " from raw.token_packs",
    "stg_token_events": "select event_id, event_ts, event_ts::date as event_date, team_id,"
    " subscription_id, event_type, tokens, related_team_id, delivery_date from raw.token_events",
    "stg_usage": "select * exclude (source_line) from raw.usage",
}
# Staged columns named unlike the contract column they come from.
RENAMED = {("token_packs", "team_id"): "purchasing_team_id"}


@pytest.fixture
def open_staged(tmp_path):
    """Build staged tables (D1's rows), apply statements, open the file read-only."""
    staged = [
        f"create table main.{t} as {q} where delivery_date = '{D1}'" for t, q in STAGED_SQL.items()
    ]
    yield from _read_only_cases(
        tmp_path, "stg", lambda path, *statements: build_raw(path, *staged, *statements)
    )


def _staged_keys(tests: dict) -> list:
    return sorted((k for k in tests if k[0] in STAGED_SQL), key=str)


def _staged_column(entity, name: str) -> str:
    return RENAMED.get((entity.name, name), name)


def _test_kwargs(tests: dict, entity, column: str | None, test: str) -> dict:
    """The arguments of the dbt test ``test`` on a staged column (None: on the model)."""
    key = (f"stg_{entity.name}", column and _staged_column(entity, column), test)
    assert key in tests, key
    return tests[key]["test_metadata"]["kwargs"]


def test_staged_rules_cover_the_landing_contract(dbt_tests):
    """Each contract rule the staged tables must keep is a dbt test with the contract's values."""
    for entity in ENTITIES:
        for column in entity.columns:
            if not column.nullable:
                not_null = _test_kwargs(dbt_tests, entity, None, NOT_NULL)["columns"]
                assert _staged_column(entity, column.name) in not_null, column.name
            if column.values:
                values = _test_kwargs(dbt_tests, entity, column.name, "accepted_values")["values"]
                assert values == list(column.values)
            if column.references:
                relation = _test_kwargs(dbt_tests, entity, column.name, "relationships")
                (key,) = BY_NAME[column.references].key
                assert (relation["to"], relation["field"]) == (
                    f"ref('stg_{column.references}')",
                    key,
                )
        if len(entity.key) == 1:
            _test_kwargs(dbt_tests, entity, entity.key[0], "unique")
        else:
            columns = _test_kwargs(dbt_tests, entity, None, "unique_combination")["columns"]
            assert columns == [_staged_column(entity, c) for c in entity.key]
        for column, minimum in entity.minimum:
            assert _test_kwargs(dbt_tests, entity, column, "accepted_range")["min_value"] == minimum
        for column, maximum in entity.maximum:
            assert _test_kwargs(dbt_tests, entity, column, "accepted_range")["max_value"] == maximum


def test_staged_tables_pass_when_clean(open_staged, dbt_tests):
    keys = _staged_keys(dbt_tests)
    assert len(keys) > 30  # one not-null test per model, not one per column
    assert {model for model, _, test in keys if test == NOT_NULL} == set(STAGED_SQL)
    assert failing_tests(open_staged(), dbt_tests, keys) == set()


REL = "relationships"
BAD_STAGED = [
    pytest.param(
        "update stg_usage set usage_id = null where usage_id = 'u005'",
        ("stg_usage", "usage_id", NOT_NULL),
        id="null-key",
    ),
    pytest.param(
        "update stg_token_packs set purchasing_team_id = null",
        ("stg_token_packs", "purchasing_team_id", NOT_NULL),
        id="null-renamed-column",
    ),
    pytest.param(
        "update stg_users set email = null where autodesk_id = 'U2'",
        ("stg_users", "email", NOT_NULL),
        id="null-email",
    ),
    pytest.param(
        "insert into stg_usage select * replace (99 as tokens) from stg_usage"
        " where usage_id = 'u007'",
        ("stg_usage", "usage_id", "unique"),
        id="duplicate-key",
    ),
    pytest.param(
        "insert into stg_teams select * from stg_teams where team_id = 'T2'",
        ("stg_teams", "team_id", "unique"),
        id="duplicate-team",
    ),
    pytest.param(
        f"insert into stg_team_members values ('T1', 'U2', 'admin', '{D1}')",
        ("stg_team_members", None, "unique_combination"),
        id="duplicate-compound-key",
    ),
    pytest.param(
        "update stg_token_events set event_type = 'gift' where event_id like 'M-%'",
        ("stg_token_events", "event_type", "accepted_values"),
        id="bad-event-type",
    ),
    pytest.param(
        "update stg_products set usage_category = 'desktop' where product_line_code = 'ACD'",
        ("stg_products", "usage_category", "accepted_values"),
        id="bad-usage-category",
    ),
    pytest.param(
        "update stg_team_members set role = 'owner'",
        ("stg_team_members", "role", "accepted_values"),
        id="bad-role",
    ),
    pytest.param(
        "update stg_teams set status = 'deleted' where team_id = 'T1'",
        ("stg_teams", "status", "accepted_values"),
        id="bad-status",
    ),
    pytest.param(
        "update stg_usage set tokens = -3 where usage_id in ('u010', 'u011')",
        ("stg_usage", "tokens", "accepted_range"),
        id="negative-tokens",
    ),
    pytest.param(
        "update stg_usage set tokens = 1000001 where usage_id = 'u010'",
        ("stg_usage", "tokens", "accepted_range"),
        id="tokens-above-maximum",
    ),
    pytest.param(
        "update stg_token_packs set tokens_purchased = 0",
        ("stg_token_packs", "tokens_purchased", "accepted_range"),
        id="empty-pack",
    ),
    pytest.param(
        "update stg_products set tokens_per_day = 1000001 where product_line_code = 'RVT'",
        ("stg_products", "tokens_per_day", "accepted_range"),
        id="rate-above-maximum",
    ),
    pytest.param(
        "update stg_usage set team_id = 'T9' where usage_id = 'u001'",
        ("stg_usage", "team_id", REL),
        id="unknown-usage-team",
    ),
    pytest.param(
        "update stg_usage set autodesk_id = 'U9' where usage_id = 'u002'",
        ("stg_usage", "autodesk_id", REL),
        id="unknown-usage-user",
    ),
    pytest.param(
        "delete from stg_products where product_line_code = 'ACD'",
        ("stg_usage", "product_line_code", REL),
        id="usage-product-gone",
    ),
    pytest.param(
        "update stg_token_events set subscription_id = 'S9' where event_id like 'E-%'",
        ("stg_token_events", "subscription_id", REL),
        id="unknown-event-pack",
    ),
    pytest.param(
        "delete from stg_teams where team_id = 'T1'",
        ("stg_token_events", "team_id", REL),
        id="event-team-gone",
    ),
    pytest.param(
        "update stg_token_events set related_team_id = 'T8' where event_id like 'M-%'",
        ("stg_token_events", "related_team_id", REL),
        id="unknown-related-team",
    ),
    pytest.param(
        "update stg_teams set merged_into_team_id = 'T8' where team_id = 'T2'",
        ("stg_teams", "merged_into_team_id", REL),
        id="unknown-merge-target",
    ),
    pytest.param(
        "update stg_token_packs set purchasing_team_id = 'T8'",
        ("stg_token_packs", "purchasing_team_id", REL),
        id="unknown-pack-team",
    ),
    pytest.param(
        "update stg_team_members set autodesk_id = 'U7' where role = 'user'",
        ("stg_team_members", "autodesk_id", REL),
        id="unknown-member",
    ),
    pytest.param(
        "drop table stg_users",
        ("stg_usage", "autodesk_id", REL),
        id="missing-referenced-table",
    ),
    pytest.param(
        "alter table stg_usage drop column version",
        ("stg_usage", None, NOT_NULL),  # the model's not-null test cannot run
        id="missing-column",
    ),
    pytest.param(
        "drop table stg_usage",
        ("stg_usage", "usage_id", "unique"),
        id="missing-table",
    ),
]


@pytest.mark.parametrize(("statement", "expected"), BAD_STAGED)
def test_staged_fault_fails_its_dbt_test(open_staged, dbt_tests, statement, expected):
    assert expected in failing_tests(open_staged(statement), dbt_tests, _staged_keys(dbt_tests))


def test_staged_failure_rows_name_the_offending_key(open_staged, dbt_tests):
    con = open_staged("update stg_usage set team_id = 'T9' where usage_id in ('u001', 'u002')")
    rows = dbt_test_rows(con, dbt_tests[("stg_usage", "team_id", REL)])
    assert sorted(r["from_field"] for r in rows) == ["T9", "T9"]
    (dup,) = dbt_test_rows(
        open_staged(
            "insert into stg_usage select * replace (99 as tokens) from stg_usage"
            " where usage_id = 'u007'"
        ),
        dbt_tests[("stg_usage", "usage_id", "unique")],
    )
    assert dup == {"unique_field": "u007", "n_records": 2}
    # The model's one not-null test names each column with nulls and counts its null rows.
    con = open_staged("update stg_usage set version = null, usage_date = null where tokens > 5")
    nulled = con.execute("select count(*) from stg_usage where version is null").fetchone()
    assert nulled is not None and nulled[0] > 0
    nulls = dbt_test_rows(con, dbt_tests[("stg_usage", None, NOT_NULL)])
    assert sorted((r["column_name"], r["null_rows"]) for r in nulls or []) == [
        ("usage_date", nulled[0]),
        ("version", nulled[0]),
    ]


# ---------------------------------------------------------------- reject gate


def test_reject_rates_count_loaded_and_rejected_per_file(open_raw):
    con = open_raw(_quarantine("usage.csv", D1, 3), _quarantine("teams.csv", D0, 2))
    rates = reject_rates(con, [D1]).set_index("file")
    assert len(rates) == 7
    assert (rates.loc["usage.csv", "loaded"], rates.loc["usage.csv", "rejected"]) == (99, 3)
    assert rates.loc["usage.csv", "reject_rate"] == pytest.approx(3 / 102)
    assert rates.loc["teams.csv", "rejected"] == 0  # D0's rejects belong to another delivery
    assert rates.loc["products.csv", "reject_rate"] == 0


def test_reject_gate_passes_without_rejects(open_raw):
    outcome = check_reject_rate(open_raw(), [D1], threshold=0.01)
    assert outcome.passed
    assert outcome.name == "reject_rate_gate"
    assert outcome.stats["threshold"] == 0.01


def test_reject_gate_passes_exactly_at_threshold(open_raw):
    con = open_raw(_quarantine("usage.csv", D1, 1))  # 1 / (99 + 1) = 1%
    assert check_reject_rate(con, [D1], threshold=0.01).passed


def test_reject_gate_fails_above_threshold_naming_the_file(open_raw):
    con = open_raw(_quarantine("usage.csv", D1, 2))  # 2 / 101 > 1%
    outcome = check_reject_rate(con, [D1], threshold=0.01)
    assert not outcome.passed
    assert outcome.blocking
    assert "file=usage.csv" in outcome.message
    assert f"delivery_date={D1}" in outcome.message
    (failure,) = outcome.failures
    assert failure.unexpected_count == 1
    assert failure.rows[0]["rejected"] == 2 and failure.rows[0]["loaded"] == 99


def test_reject_gate_fails_for_a_file_with_every_row_rejected(open_raw):
    con = open_raw(
        f"delete from raw.token_events where delivery_date = '{D1}'",
        _quarantine("token_events.csv", D1, 2),
    )
    outcome = check_reject_rate(con, [D1], threshold=0.5)
    assert not outcome.passed
    assert "file=token_events.csv" in outcome.message


def test_reject_gate_ignores_deliveries_of_earlier_runs(open_raw):
    con = open_raw(_quarantine("usage.csv", D0, 50))
    assert check_reject_rate(con, [D1], threshold=0.01).passed
    assert not check_reject_rate(con, [D0], threshold=0.01).passed


def test_reject_gate_threshold_from_environment(open_raw, monkeypatch):
    con = open_raw(_quarantine("usage.csv", D1, 2))
    monkeypatch.delenv("FLEX_REJECT_THRESHOLD", raising=False)
    assert not check_reject_rate(con, [D1]).passed  # default 1%
    monkeypatch.setenv("FLEX_REJECT_THRESHOLD", "0.02")
    assert check_reject_rate(con, [D1]).passed  # 2/101 = 1.98%
    monkeypatch.setenv("FLEX_REJECT_THRESHOLD", "1.5")
    with pytest.raises(ValueError, match="between 0 and 1"):
        check_reject_rate(con, [D1])


# ---------------------------------------------------------------- reports

AS_OF = date(2026, 3, 31)
# Per active team: range_order -> {product: {user: tokens}}; T2 has no usage in range 1.
USAGE_BY_RANGE = {
    "T1": {r: {"AutoCAD": {"h1": 10 * r, "h2": 3}, "Revit": {"h1": 7}} for r in range(1, 6)},
    "T2": {1: {}, **{r: {"Maya": {"h3": 100 + r}} for r in range(2, 6)}},
}
# Range 1 is D-29..D; ranges 2..5 end on D-31 and start 60 days further back each, so that
# D-30 and D-364 lie in no range.
RANGE_DATES = {
    1: (AS_OF - timedelta(days=29), AS_OF),
    **{
        r: (AS_OF - timedelta(days=30 + 60 * (r - 1)), AS_OF - timedelta(days=31))
        for r in (2, 3, 4, 5)
    },
}


def _range_total(team: str, r: int) -> int:
    return sum(t for users in USAGE_BY_RANGE[team][r].values() for t in users.values())


def _tokens_by_day(team: str) -> dict[date, int]:
    """Days with tokens: each range's total falls on days inside it (and 50 on D-30, outside)."""
    past_30 = _range_total(team, 1)
    days = {AS_OF: past_30 - past_30 // 3, AS_OF - timedelta(days=29): past_30 // 3}
    days[AS_OF - timedelta(days=30)] = 50
    days[AS_OF - timedelta(days=31)] = _range_total(team, 2)
    for r in (3, 4, 5):  # a range's own first day lies in it and in every longer range only
        days[RANGE_DATES[r][0]] = _range_total(team, r) - _range_total(team, r - 1)
    return days


def build_reports(path, *statements: str) -> None:
    """Marts and report models for two active teams and one merged team, then ``statements``."""
    con = duckdb.connect(str(path))
    con.execute(
        "create table dim_team (team_id VARCHAR, team_alias VARCHAR, include_pii BOOLEAN,"
        " status VARCHAR, merged_into_team_id VARCHAR)"
    )
    con.execute(
        "insert into dim_team values ('T1', 'One', true, 'active', null),"
        " ('T2', 'Two', true, 'active', null), ('T3', 'Three', true, 'merged', 'T1')"
    )
    con.execute(
        "create table rpt_summary (team_id VARCHAR, as_of_date DATE, team VARCHAR,"
        " tokens_used BIGINT, tokens_remaining BIGINT, tokens_added BIGINT,"
        " tokens_removed BIGINT, tokens_net BIGINT)"
    )
    con.execute(
        "create table rpt_subscriptions (team_id VARCHAR, as_of_date DATE, subscription_id VARCHAR,"
        " status VARCHAR, tokens_used BIGINT, tokens_remaining BIGINT, tokens_expired BIGINT)"
    )
    con.execute(
        "create table rpt_tokens_by_day (team_id VARCHAR, as_of_date DATE, usage_date DATE,"
        " tokens_used BIGINT)"
    )
    con.execute(
        "create table rpt_time_ranges (team_id VARCHAR, as_of_date DATE, range_order INTEGER,"
        " time_range VARCHAR, start_date DATE, end_date DATE, total_tokens_used BIGINT,"
        " products_used BIGINT, total_users BIGINT)"
    )
    con.execute(
        "create table rpt_by_product (team_id VARCHAR, as_of_date DATE, range_order INTEGER,"
        " product VARCHAR, total_tokens_used BIGINT)"
    )
    con.execute(
        "create table rpt_by_user (team_id VARCHAR, as_of_date DATE, range_order INTEGER,"
        " hashed_autodesk_id VARCHAR, total_tokens_used BIGINT)"
    )
    con.execute(
        "create table fct_usage (usage_id VARCHAR, team_id VARCHAR, tokens BIGINT,"
        " allocated_tokens BIGINT, unallocated_tokens BIGINT)"
    )
    for team, ranges in USAGE_BY_RANGE.items():
        con.execute(
            "insert into rpt_summary values (?, ?, ?, 5, 100, 20, -8, 12)", [team, AS_OF, team]
        )
        con.execute(
            "insert into rpt_subscriptions values (?, ?, ?, 'Active', 5, 100, 0)",
            [team, AS_OF, f"S-{team}"],
        )
        con.execute(
            "insert into rpt_tokens_by_day select ?, ?, ?::date - i::int, 0 from range(365) t(i)",
            [team, AS_OF, AS_OF],
        )
        for day, tokens in _tokens_by_day(team).items():
            con.execute(
                "update rpt_tokens_by_day set tokens_used = ? where team_id = ? and usage_date = ?",
                [tokens, team, day],
            )
        for r, products in ranges.items():
            by_user: dict[str, int] = {}
            for product, users in products.items():
                con.execute(
                    "insert into rpt_by_product values (?, ?, ?, ?, ?)",
                    [team, AS_OF, r, product, sum(users.values())],
                )
                for user, tokens in users.items():
                    by_user[user] = by_user.get(user, 0) + tokens
            for user, tokens in by_user.items():
                con.execute(
                    "insert into rpt_by_user values (?, ?, ?, ?, ?)", [team, AS_OF, r, user, tokens]
                )
            con.execute(
                "insert into rpt_time_ranges values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    team,
                    AS_OF,
                    r,
                    "Past 30 days" if r == 1 else f"range {r}",
                    *RANGE_DATES[r],
                    _range_total(team, r),
                    len(products),
                    len(by_user),
                ],
            )
    con.execute("insert into fct_usage values ('u1', 'T1', 10, 10, 0), ('u2', 'T2', 4, 4, 0)")
    for statement in statements:
        con.execute(statement)
    con.close()


@pytest.fixture
def open_reports(tmp_path):
    yield from _read_only_cases(tmp_path, "rpt", build_reports)


# The dbt tests that hold the report rules: balances never negative, one Summary row per active
# team, the five time ranges, and the reconciliation identities.
SUBS_REMAINING = ("rpt_subscriptions", "tokens_remaining", "accepted_range")
SUBS_EXPIRED = ("rpt_subscriptions", "tokens_expired", "accepted_range")
SUMMARY_REMAINING = ("rpt_summary", "tokens_remaining", "accepted_range")
SUMMARY_ROWS = ("rpt_summary", None, "rows_per_active_team")
SUMMARY_UNIQUE = ("rpt_summary", None, "unique_combination")
RANGE_ROWS = ("rpt_time_ranges", None, "rows_per_active_team")
RANGE_UNIQUE = ("rpt_time_ranges", None, "unique_combination")
RANGE_ORDERS = ("rpt_time_ranges", "range_order", "accepted_values")
NET = ("rpt_summary", None, "expression_is_true")
SUMMARY_VS_PACKS = ("assert_report_summary_matches_subscriptions", None, SINGULAR)
RANGE_TOTALS = ("assert_report_range_totals_reconcile", None, SINGULAR)
REPORT_RULES = [
    SUBS_REMAINING,
    SUBS_EXPIRED,
    SUMMARY_REMAINING,
    SUMMARY_ROWS,
    SUMMARY_UNIQUE,
    RANGE_ROWS,
    RANGE_UNIQUE,
    RANGE_ORDERS,
    NET,
    SUMMARY_VS_PACKS,
    RANGE_TOTALS,
]


def test_reports_pass_on_consistent_models(open_reports, dbt_tests):
    assert failing_tests(open_reports(), dbt_tests, REPORT_RULES) == set()


def _update(table: str, assignment: str, where: str) -> str:
    return f"update {table} set {assignment} where {where}"


D_MINUS = {n: AS_OF - timedelta(days=n) for n in (29, 30, 364)}

BAD_REPORTS = [
    pytest.param(
        _update("rpt_subscriptions", "tokens_remaining = -1", "team_id = 'T2'"),
        {SUBS_REMAINING, SUMMARY_VS_PACKS},
        id="subscription-remaining",
    ),
    pytest.param(
        "update rpt_subscriptions set tokens_expired = -3",
        {SUBS_EXPIRED},
        id="subscription-expired",
    ),
    pytest.param(
        _update("rpt_summary", "tokens_remaining = -7", "team_id = 'T1'"),
        {SUMMARY_REMAINING, SUMMARY_VS_PACKS},
        id="summary-remaining",
    ),
    pytest.param(
        "insert into rpt_summary select * from rpt_summary where team_id = 'T1'",
        {SUMMARY_ROWS, SUMMARY_UNIQUE},
        id="two-summary-rows",
    ),
    pytest.param(
        "delete from rpt_summary where team_id = 'T2'",
        {SUMMARY_ROWS, SUMMARY_VS_PACKS},
        id="missing-summary-row",
    ),
    pytest.param(
        f"insert into rpt_summary values ('T3', '{AS_OF}', 'Three', 0, 0, 0, 0, 0)",
        {SUMMARY_ROWS},
        id="merged-team-summary-row",
    ),
    pytest.param(
        "delete from rpt_time_ranges where team_id = 'T2' and range_order = 3;"
        " insert into rpt_time_ranges select * replace (0 as total_tokens_used)"
        " from rpt_time_ranges where team_id = 'T1' and range_order = 5",
        {RANGE_ROWS, RANGE_UNIQUE, RANGE_TOTALS},
        id="range-missing-and-repeated",
    ),
    pytest.param(
        "update rpt_time_ranges set range_order = 6 where team_id = 'T1' and range_order = 5",
        {RANGE_ORDERS, RANGE_TOTALS},
        id="range-order-outside-1-5",
    ),
    pytest.param(
        "update rpt_by_product set total_tokens_used = total_tokens_used + 1"
        " where team_id = 'T1' and range_order = 2 and product = 'Revit'",
        {RANGE_TOTALS},
        id="by-product-vs-time-ranges",
    ),
    pytest.param(
        f"insert into rpt_by_user values ('T3', '{AS_OF}', 1, 'h9', 4)",
        {RANGE_TOTALS},
        id="by-user-rows-without-time-range",
    ),
    pytest.param(
        _update("rpt_subscriptions", "tokens_used = 6", "team_id = 'T1'"),
        {SUMMARY_VS_PACKS},
        id="used-vs-subscriptions",
    ),
    pytest.param(
        f"insert into rpt_subscriptions values ('T2', '{AS_OF}', 'X-T2', 'Expired', 0, 4, 0)",
        {SUMMARY_VS_PACKS},
        id="remaining-of-expired-pack",
    ),
    pytest.param(
        _update("rpt_summary", "tokens_remaining = 90", "team_id = 'T1'"),
        {SUMMARY_VS_PACKS},
        id="remaining-vs-subscriptions",
    ),
    pytest.param(
        _update(
            "rpt_tokens_by_day",
            "tokens_used = tokens_used + 1",
            f"team_id = 'T1' and usage_date = '{D_MINUS[29]}'",
        ),
        {RANGE_TOTALS},
        id="by-day-vs-past-30-days",
    ),
    pytest.param(
        _update("rpt_summary", "tokens_net = 28", "team_id = 'T2'"),
        {NET},
        id="net-vs-added-removed",
    ),
]


@pytest.mark.parametrize(("statement", "expected"), BAD_REPORTS)
def test_report_fault_fails_its_dbt_tests(open_reports, dbt_tests, statement, expected):
    assert failing_tests(open_reports(statement), dbt_tests, REPORT_RULES) == expected


@pytest.mark.parametrize(
    "statement",
    [
        f"insert into rpt_subscriptions values ('T1', '{AS_OF}', 'X-T1', 'Expired', 7, 0, 3)",
        _update("rpt_tokens_by_day", "tokens_used = 99", f"usage_date = '{D_MINUS[30]}'"),
        _update("rpt_tokens_by_day", "tokens_used = 99", f"usage_date = '{D_MINUS[364]}'"),
    ],
    ids=["expired-pack-used", "day-outside-every-range", "first-day"],
)
def test_team_identities_hold(open_reports, dbt_tests, statement):
    """Usage of non-active packs and days outside every range do not enter the identities."""
    assert failing_tests(open_reports(statement), dbt_tests, REPORT_RULES) == set()


def test_report_failure_rows_name_team_and_range(open_reports, dbt_tests):
    con = open_reports(
        "update rpt_by_product set total_tokens_used = total_tokens_used + 1"
        " where team_id = 'T1' and range_order = 2 and product = 'Revit'"
    )
    (row,) = dbt_test_rows(con, dbt_tests[RANGE_TOTALS])
    expected_total = 10 * 2 + 3 + 7  # T1, range 2: AutoCAD h1 + h2, Revit h1
    assert (row["team_id"], row["range_order"]) == ("T1", 2)
    assert (row["by_product_tokens"], row["total_tokens_used"]) == (
        expected_total + 1,
        expected_total,
    )
    (row,) = dbt_test_rows(
        open_reports("delete from rpt_summary where team_id = 'T2'"), dbt_tests[SUMMARY_ROWS]
    )
    assert row == {"team_id": "T2", "row_count": 0, "expected_rows": 1}


@pytest.mark.parametrize(
    ("statement", "expected"),
    [
        (
            "insert into rpt_summary select * replace (as_of_date + 1 as as_of_date)"
            " from rpt_summary",
            [],
        ),
        (
            "insert into rpt_summary select * replace (null as team_id) from rpt_summary",
            [(None, AS_OF, 2)],
        ),
    ],
    ids=["grains-differ-in-one-column", "null-in-the-grain-repeats"],
)
def test_unique_combination_groups_on_the_columns_after_the_hash(
    open_reports, dbt_tests, statement, expected
):
    """A multi-column grain is tested through a row hash first; the verdict is the columns'."""
    assert "hash(" in dbt_tests[SUMMARY_UNIQUE]["compiled_code"]
    rows = dbt_test_rows(open_reports(statement), dbt_tests[SUMMARY_UNIQUE])
    assert [(r["team_id"], r["as_of_date"], r["row_count"]) for r in rows] == expected


# ---------------------------------------------------------------- drawdown allocation

ALLOCATION_RECONCILES = ("assert_drawdown_allocation_reconciles", None, SINGULAR)


def build_allocation(path, *statements: str) -> None:
    """Three charges and their draws (u1 from two packs, u2 partly, u3 not at all)."""
    con = duckdb.connect(str(path))
    for statement in (
        "create table fct_usage (usage_id VARCHAR, tokens BIGINT, allocated_tokens BIGINT,"
        " unallocated_tokens BIGINT)",
        "insert into fct_usage values ('u1', 5, 5, 0), ('u2', 4, 3, 1), ('u3', 2, 0, 2)",
        "create table fct_usage_allocation (usage_id VARCHAR, subscription_id VARCHAR,"
        " tokens_drawn BIGINT)",
        "insert into fct_usage_allocation values ('u1', 'P1', 3), ('u1', 'P2', 2), ('u2', 'P1', 3)",
        *statements,
    ):
        con.execute(statement)
    con.close()


@pytest.fixture
def open_allocation(tmp_path):
    yield from _read_only_cases(tmp_path, "alloc", build_allocation)


@pytest.mark.parametrize(
    ("statement", "expected"),
    [
        (None, []),
        # a draw whose charge is not in fct_usage: the join to the charges must be full
        ("insert into fct_usage_allocation values ('u9', 'P1', 1)", [("u9", False)]),
        ("update fct_usage_allocation set tokens_drawn = 1 where usage_id = 'u2'", [("u2", True)]),
        ("delete from fct_usage_allocation where subscription_id = 'P2'", [("u1", True)]),
        ("update fct_usage set unallocated_tokens = 2 where usage_id = 'u2'", [("u2", True)]),
        (
            _update("fct_usage", "allocated_tokens = 0, unallocated_tokens = 0", "usage_id = 'u3'"),
            [("u3", True)],
        ),
    ],
    ids=[
        "consistent",
        "draw-without-charge",
        "draws-short",
        "pack-missing",
        "parts-vs-tokens",
        "tokens-lost",
    ],
)
def test_drawdown_allocation_reconciles(open_allocation, dbt_tests, statement, expected):
    """Every draw belongs to a charge, and a charge's draws add up to its allocated tokens."""
    con = open_allocation(*[statement] if statement else [])
    rows = dbt_test_rows(con, dbt_tests[ALLOCATION_RECONCILES])
    assert sorted((row["usage_id"], row["charge_found"]) for row in rows) == expected


# ---------------------------------------------------------------- grain tests since their last pass

DAILY_GRAIN = ("fct_daily_usage", None, "unique_combination")
HISTORY_GRAIN = ("stg_usage_history", None, "unique_combination")
DAILY_KEY = (
    "fct_daily_usage:unique_combination:team_id,autodesk_id,product_line_code,version,usage_date"
)
HISTORY_KEY = "stg_usage_history:unique_combination:usage_id"
WRITTEN = "timestamp '2026-03-01 02:00:00'"  # the build that wrote the tables' rows
PASSED = "timestamp '2026-03-02 02:00:00'"  # a later build where the grain test passed
LATER = "timestamp '2026-03-03 02:00:00'"


def build_incremental_grains(path, *statements: str) -> None:
    """Two tables whose grain tests check only rows written since they last passed."""
    con = duckdb.connect(str(path))
    for statement in (
        "create schema checks",
        "create table checks.test_passes (test_key VARCHAR primary key, passed_at TIMESTAMP)",
        "create table fct_daily_usage (team_id VARCHAR, autodesk_id VARCHAR,"
        " product_line_code VARCHAR, version VARCHAR, usage_date DATE, tokens BIGINT,"
        " usage_rows BIGINT, built_at TIMESTAMP)",
        f"insert into fct_daily_usage values ('T1', 'U1', 'ACD', '2026', '2026-02-27', 5, 1,"
        f" {WRITTEN}), ('T1', 'U2', 'ACD', '2026', '2026-02-27', 3, 1, {WRITTEN})",
        "create table stg_usage_history (usage_id VARCHAR, built_at TIMESTAMP)",
        f"insert into stg_usage_history values ('c1', {WRITTEN}), ('c2', {WRITTEN})",
        *statements,
    ):
        con.execute(statement)
    con.close()


@pytest.fixture
def open_incremental_grains(tmp_path):
    yield from _read_only_cases(tmp_path, "grains", build_incremental_grains)


def _repeat(table: str, built_at: str) -> str:
    """A second copy of the table's first row, written at ``built_at``."""
    return (
        f"insert into {table} select * replace ({built_at} as built_at) from {table}"
        " order by all limit 1"
    )


def _passed(key: str) -> str:
    return f"insert into checks.test_passes values ('{key}', {PASSED})"


@pytest.mark.parametrize("grain", [DAILY_GRAIN, HISTORY_GRAIN], ids=["hashed", "one-column"])
@pytest.mark.parametrize(
    ("repeat_written", "passed", "found"),
    [
        (WRITTEN, False, True),
        (WRITTEN, True, False),
        (LATER, True, True),
        ("null", True, True),
    ],
    ids=[
        "never-passed-checks-all",
        "rows-checked-at-the-pass-are-skipped",
        "row-written-after-the-pass-is-checked",
        "row-without-built-at-is-checked",
    ],
)
def test_grain_test_checks_rows_written_since_it_last_passed(
    open_incremental_grains, dbt_tests, grain, repeat_written, passed, found
):
    """A repeated grain is reported when one of its rows was written after the test last
    passed (or has no built_at); the rows the passing run saw are not grouped again."""
    table = grain[0]
    key = DAILY_KEY if table == "fct_daily_usage" else HISTORY_KEY
    statements = [_repeat(table, repeat_written)] + ([_passed(key)] if passed else [])
    rows = dbt_test_rows(open_incremental_grains(*statements), dbt_tests[grain])
    assert rows is not None, "the compiled test runs"
    assert (len(rows) == 1 and rows[0]["row_count"] == 2) is found, rows


def test_grain_test_passes_are_kept_per_test(open_incremental_grains, dbt_tests):
    """A pass of another test does not narrow this one."""
    con = open_incremental_grains(
        _repeat("fct_daily_usage", WRITTEN),
        _passed(HISTORY_KEY),
    )
    assert len(dbt_test_rows(con, dbt_tests[DAILY_GRAIN])) == 1


def test_a_failed_grain_test_records_no_pass_and_a_passing_one_does(tmp_path):
    """The on-run-end hook keeps the invocation's start for each grain test that passed, and
    nothing for one that failed, so the next build checks the same rows again. The test
    narrows to recent rows only when they are fewer than half the table."""
    warehouse = tmp_path / "wh.duckdb"
    build_incremental_grains(warehouse, _repeat("fct_daily_usage", WRITTEN))
    select = ["--select", "fct_daily_usage,test_name:unique_combination"]

    def passes() -> list[tuple]:
        rows = query(warehouse, "select test_key, passed_at from checks.test_passes")
        return [(row["test_key"], row["passed_at"]) for row in rows]

    def test_run() -> tuple[bool, bool]:
        """(passed, narrowed to recent rows) of one `dbt test` of the grain."""
        run = run_dbt(warehouse, AS_OF, "test", select)
        (test,) = [r.node for r in run.result if r.node.resource_type == "test"]
        return run.success, "recent_grains" in test.compiled_code

    assert test_run() == (False, False), "never passed: every row is recent"
    assert passes() == []
    with duckdb.connect(str(warehouse)) as con:
        con.execute(  # the repeated row, inserted last
            "delete from fct_daily_usage where rowid = (select max(rowid) from fct_daily_usage)"
        )
    before = datetime.now(UTC).replace(tzinfo=None)
    assert test_run() == (True, False)
    ((recorded_key, passed_at),) = passes()
    assert recorded_key == DAILY_KEY
    assert before - timedelta(seconds=5) <= passed_at <= datetime.now(UTC).replace(tzinfo=None)
    with duckdb.connect(str(warehouse)) as con:
        con.execute(
            "insert into fct_daily_usage values ('T1', 'U3', 'ACD', '2026', '2026-02-27', 1, 1,"
            " timestamp '2100-01-01 00:00:00')"
        )
    assert test_run() == (True, True), "one row of three written since the pass"


# ---------------------------------------------------------------- warnings


def test_unallocated_tokens_pass_when_all_drawn(open_reports):
    outcome = check_unallocated_tokens(open_reports())
    assert outcome.passed and not outcome.blocking
    assert outcome.stats == {"unallocated_tokens": 0, "teams": []}


def test_unallocated_tokens_warn_with_total_and_teams(open_reports):
    con = open_reports(
        "insert into fct_usage values ('u3', 'T2', 9, 2, 7), ('u4', 'T1', 5, 0, 5),"
        " ('u5', 'T2', 1, 0, 1)"
    )
    outcome = check_unallocated_tokens(con)
    assert not outcome.passed
    assert not outcome.blocking
    assert outcome.stats == {"unallocated_tokens": 13, "teams": ["T1", "T2"]}
    assert outcome.message.startswith(
        "unallocated_tokens failed: 13 usage tokens unallocated in 2 teams: "
    )
    assert "team_id=T2 unallocated_tokens=8" in outcome.message


D1_END = datetime(2026, 3, 3)  # delivery D1 is an extract as of the end of its day


@pytest.mark.parametrize(
    ("now", "passed"),
    [
        (datetime(2026, 3, 3, 12, 0, 1), True),  # 36 h after D1 began: not stale any more
        (datetime(2026, 3, 4, 11, 59), True),
        (datetime(2026, 3, 4, 12, 0), True),  # exactly 36 hours after the end of D1
        (datetime(2026, 3, 4, 12, 0, 1), False),
        (datetime(2026, 3, 4, 13, 30, tzinfo=timezone(timedelta(hours=2))), True),
        (datetime(2026, 3, 4, 12, 30, tzinfo=UTC), False),
    ],
)
def test_freshness_without_arrival_time_counts_from_the_end_of_the_delivery_date(
    open_raw, now, passed
):
    outcome = check_freshness(open_raw(), now)
    assert outcome.passed is passed
    assert not outcome.blocking
    assert outcome.stats["newest_delivery"] == D1.isoformat()
    assert outcome.stats["arrived_at"] == D1_END.isoformat()
    assert outcome.stats["arrival_from"] == "end of delivery date"
    if not passed:
        assert (
            "raw.deliveries: 1 x no new complete delivery for more than 36 hours" in outcome.message
        )


@pytest.mark.parametrize(
    ("hours", "passed"), [(35.9, True), (36, True), (36.01, False)], ids=["35.9h", "36h", "36.01h"]
)
def test_freshness_counts_from_the_arrival_of_the_newest_delivery(open_raw, hours, passed):
    arrived = datetime(2026, 3, 3, 5, 17)
    arrivals = {D0: datetime(2026, 3, 2, 4), D1: arrived}
    outcome = check_freshness(open_raw(), arrived + timedelta(hours=hours), arrivals)
    assert outcome.passed is passed
    assert outcome.stats["arrived_at"] == arrived.isoformat()
    assert outcome.stats["arrival_from"] == "manifest"
    assert outcome.stats["age_hours"] == pytest.approx(hours)


def test_freshness_counts_a_complete_delivery_not_ingested_yet(open_raw):
    d2_arrived = datetime(2026, 3, 5, 1)
    now = d2_arrived + timedelta(hours=2)
    assert not check_freshness(open_raw(), now).passed
    outcome = check_freshness(open_raw(), now, {D2: d2_arrived})
    assert outcome.passed
    assert outcome.stats["newest_delivery"] == D2.isoformat()


def test_freshness_warns_without_any_delivery(open_raw):
    outcome = check_freshness(open_raw("delete from raw.deliveries"), datetime(2026, 3, 3))
    assert not outcome.passed
    assert "raw.deliveries: 1 x no complete delivery" in outcome.message
    assert outcome.stats["newest_delivery"] is None


def test_delivery_arrivals_are_the_manifest_times(tmp_path):
    import os

    from tests.landing_builder import write_delivery

    manifest_times = {D0: datetime(2026, 3, 2, 3, 4, 5), D1: datetime(2026, 3, 3, 0, 30)}
    for day, at in manifest_times.items():
        folder = write_delivery(tmp_path, day.isoformat())
        stamp = at.replace(tzinfo=UTC).timestamp()
        os.utime(folder / "manifest.json", (stamp, stamp))
        os.utime(folder / "usage.csv", (stamp + 99, stamp + 99))  # only the manifest counts
    write_delivery(tmp_path, D2.isoformat(), manifest=False)  # still being written
    assert delivery_arrivals(tmp_path) == manifest_times
    assert delivery_arrivals(tmp_path / "absent") == {}


# ---------------------------------------------------------------- outcome and Dagster


def test_outcome_message_lists_three_problems_then_counts_the_rest():
    failures = [
        FailedExpectation("e", f"t.c{i}", f"c{i}", "null value", i, sample=(None,))
        for i in range(1, 6)
    ]
    outcome = CheckOutcome.from_failures("x", failures, ok_message="fine")
    assert outcome.message == (
        "x failed: t.c1: 1 x null value (e.g. null); t.c2: 2 x null value (e.g. null);"
        " t.c3: 3 x null value (e.g. null) (+2 more)"
    )
    assert CheckOutcome.from_failures("x", [], ok_message="fine").message == "x: fine"


def test_plain_makes_values_json_ready():
    import numpy as np
    import pandas as pd

    assert plain(
        [np.int64(3), float("nan"), pd.Timestamp("2026-03-02"), pd.NaT, (np.float64(1.5), "a")]
    ) == [3, None, "2026-03-02", None, [1.5, "a"]]
    assert plain(np.datetime64("2026-03-02T10:00:00")) == "2026-03-02T10:00:00"


def test_dagster_results_for_raw_checks(open_raw):
    con = open_raw(_quarantine("usage.csv", D1, 5), "update raw.users set email = null")
    specs = raw_check_specs()
    results = raw_check_results(raw_outcomes(con, [D1], threshold=0.01))
    assert [(s.asset_key, s.name) for s in specs] == [(r.asset_key, r.check_name) for r in results]
    assert all(s.blocking for s in specs)
    by_name = {r.check_name: r for r in results}
    assert not by_name["raw_users_quality"].passed
    assert by_name["raw_users_quality"].asset_key == dg.AssetKey(["raw", "users"])
    assert not by_name["reject_rate_gate"].passed
    assert by_name["reject_rate_gate"].asset_key == dg.AssetKey(["raw", "quarantine"])
    assert by_name["raw_usage_quality"].passed
    failures = by_name["raw_users_quality"].metadata["failures"].value
    assert failures[0]["target"] == "users.email" and failures[0]["unexpected_count"] == 2


def test_dagster_severity_follows_blocking():
    warning = CheckOutcome("unallocated_tokens", False, "5 tokens", blocking=False)
    result = asset_check_result(warning, ["fct_usage"])
    assert result.severity == dg.AssetCheckSeverity.WARN
    assert not result.passed
    assert result.description == "5 tokens"
    error = asset_check_result(CheckOutcome("g", False, "bad"), "rpt_summary")
    assert error.severity == dg.AssetCheckSeverity.ERROR


def test_a_snapshot_content_shared_by_deliveries_is_read_once_and_judged_for_each(
    tmp_path, monkeypatch
):
    from landing_builder import base_files, write_delivery

    from orchestration.checks import raw_suites
    from orchestration.ingest import batch, loader
    from orchestration.ingest.deliveries import discover

    days = [D0 + timedelta(days=i) for i in range(4)]
    for day in days[:3]:  # one users content carried by three deliveries ...
        write_delivery(tmp_path, day.isoformat(), base_files())
    changed = base_files()  # ... and another one, carried by the fourth
    changed["users.csv"] = [*changed["users.csv"], {"autodesk_id": "U9", "email": "u9@x.io"}]
    write_delivery(tmp_path, days[3].isoformat(), changed)
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    loader.ensure_raw_schema(con)
    list(batch.ingest_pending(con, discover(tmp_path)))
    read: list[list[date]] = []
    real = raw_suites._data_suite
    monkeypatch.setattr(raw_suites, "_data_suite", lambda c, e, b: read.append(b) or real(c, e, b))
    users = BY_NAME["users"]
    clean = raw_suites.check_raw_table(con, users, days)
    assert clean.passed and read == [[days[0], days[3]]]
    assert clean.stats["rows"] == con.execute("select count(*) from raw.users").fetchone()[0]
    first = con.execute(
        "select content_key from raw.snapshot_files where file = 'users.csv' and delivery_date = ?",
        [days[0]],
    ).fetchone()[0]
    # break the content the first three carry, not the fourth's
    con.execute("update raw.users_contents set email = null where content_key = ?", [first])
    broken = raw_suites.check_raw_table(con, users, days)
    assert not broken.passed
    assert broken.stats["failed_deliveries"] == [d.isoformat() for d in days[:3]]
