"""The quality checks inside Dagster runs: what a run judges, what stays blocked, check wiring."""

from datetime import date, timedelta

import dagster as dg
import duckdb
import pytest

from orchestration.defs import checks as quality
from orchestration.defs.assets.gate import gate_failures
from orchestration.defs.assets.ingest import RAW_ENTITIES
from orchestration.defs.config import AS_OF_TAG
from orchestration.defs.pools import WRITER_POOL
from orchestration.defs.resources import RejectGateResource, WarehouseResource
from orchestration.defs.run_events import ingested_deliveries
from tests.checks_support import D0, D1, build_raw

INGESTED = dg.AssetKey(["raw", "usage"])


def _ingested(days: list[str]) -> dict:
    return {"ingested_deliveries": dg.MetadataValue.json(days)}


def test_ingested_deliveries_are_the_ones_this_run_loaded():
    seen: dict[str, list[date]] = {}

    @dg.asset(key=INGESTED)
    def usage():
        return dg.MaterializeResult(metadata=_ingested(["2026-03-02"]))

    @dg.asset_check(asset=usage)
    def probe(context: dg.AssetCheckExecutionContext):
        # a run going on next to this one ingests other deliveries meanwhile
        foreign = dg.AssetMaterialization(INGESTED, metadata=_ingested(["2026-03-09"]))
        context.instance.report_runless_asset_event(foreign)
        seen[context.run.run_id] = ingested_deliveries(context)
        return dg.AssetCheckResult(passed=True)

    with dg.instance_for_test() as instance:
        ingest = dg.materialize([usage, probe], instance=instance)
        check_only = dg.materialize(
            [usage, probe], instance=instance, selection=dg.AssetSelection.checks(probe)
        )
        latest = instance.get_latest_materialization_event(INGESTED).asset_materialization
    assert latest.metadata["ingested_deliveries"].value == ["2026-03-09"]
    assert seen == {ingest.run_id: [date(2026, 3, 2)], check_only.run_id: []}


@pytest.fixture
def raw_runs(tmp_path):
    """Run ``raw/gate_failures`` and ``raw_quality`` after a stand-in ingest that reports
    ``ingested`` (ISO dates), as of the run's tagged date."""
    path = tmp_path / "wh.duckdb"
    build_raw(path)
    ingested: list[str] = []
    raw_assets = (*RAW_ENTITIES, "quarantine", "deliveries")

    @dg.multi_asset(specs=[dg.AssetSpec(["raw", n]) for n in raw_assets])
    def stand_in():
        for name in raw_assets:
            yield dg.MaterializeResult(asset_key=["raw", name], metadata=_ingested(ingested))

    def run(
        *days: date, statements: tuple[str, ...] = (), until: date | None = None
    ) -> dict[str, bool]:
        with duckdb.connect(str(path)) as con:
            for statement in statements:
                con.execute(statement)
        ingested[:] = [d.isoformat() for d in days]
        result = dg.materialize(
            [stand_in, gate_failures, quality.raw_quality],
            instance=instance,
            resources={
                "warehouse": WarehouseResource(path=str(path)),
                "reject_gate": RejectGateResource(),
            },
            tags={AS_OF_TAG: until.isoformat()} if until else {},
            raise_on_error=False,
        )
        return {e.check_name: e.passed for e in result.get_asset_check_evaluations()}

    def held() -> list[date]:
        with duckdb.connect(str(path), read_only=True) as con:
            rows = con.execute("select delivery_date from raw.gate_failures order by 1").fetchall()
            return [r[0] for r in rows]

    with dg.instance_for_test() as instance:
        yield run, held


def test_a_delivery_failing_a_contract_check_blocks_until_redelivered(raw_runs):
    run, held = raw_runs
    bad_email = f"update raw.users set email = null where delivery_date = '{D1}'"
    first = run(D1, statements=(bad_email,))
    assert not first["raw_users_quality"] and first["reject_rate_gate"]
    assert held() == [D1]
    # the next refresh ingests nothing new: D1 is judged again and still blocks
    assert not run()["raw_users_quality"]
    assert held() == [D1]
    # upstream re-delivers D1 (new manifest, fixed rows); its ingest clears it
    redelivery = (
        f"update raw.deliveries set manifest_sha256 = 'y2' where delivery_date = '{D1}'",
        f"update raw.users set email = 'fixed@x.io' where delivery_date = '{D1}'",
    )
    assert all(run(D1, statements=redelivery).values())
    assert held() == []
    assert all(run().values())


def test_a_held_delivery_does_not_block_a_report_as_of_an_earlier_date(raw_runs):
    run, held = raw_runs
    bad_email = f"update raw.users set email = null where delivery_date = '{D1}'"
    assert not run(D1, statements=(bad_email,), until=D1)["raw_users_quality"]
    assert held() == [D1]
    # a refresh as of the day before D1 does not use D1: nothing blocks it
    assert all(run(until=D1 - timedelta(days=1)).values())
    assert held() == [D1]  # still held for the reports that use it
    assert not run(until=D1)["raw_users_quality"]
    assert not run(until=D1 + timedelta(days=30))["raw_users_quality"]


def test_only_failing_deliveries_are_held(raw_runs):
    run, held = raw_runs
    bad_pack = f"update raw.token_packs set tokens_purchased = 0 where delivery_date = '{D0}'"
    outcome = run(D0, D1, statements=(bad_pack,))
    assert not outcome["raw_token_packs_quality"]
    assert held() == [D0]
    assert not run()["raw_token_packs_quality"]
    # D0's manifest changed (re-delivered): its old failure no longer holds it
    assert all(
        run(
            statements=(
                f"update raw.deliveries set manifest_sha256 = 'x2' where delivery_date = '{D0}'",
            )
        ).values()
    )


def test_raw_checks_are_blocking_and_every_check_only_reads():
    """The raw suites and the gate block; the gate asset writes, the check ops only read."""
    from orchestration.defs.definitions import defs

    graph = defs.resolve_asset_graph()
    specs = {
        (key.asset_key.to_user_string(), key.name): graph.get_check_spec(key).blocking
        for key in graph.asset_check_keys
        if key.name.endswith("_quality") or key.name == "reject_rate_gate"
    }

    assert specs == {
        **{(f"raw/{e}", f"raw_{e}_quality"): True for e in RAW_ENTITIES},
        ("raw/quarantine", "reject_rate_gate"): True,
    }
    graph = defs.resolve_job_def("refresh_job").graph
    writers = {
        node.name for node in graph.nodes if getattr(node.definition, "pool", None) == WRITER_POOL
    }
    assert gate_failures.op.name in writers
    assert not writers & {c.node_def.name for c in quality.QUALITY_CHECKS}


def test_staged_and_report_rules_are_blocking_dbt_checks():
    """Every staged table and the reports the old suites covered carry blocking dbt tests."""
    from orchestration.defs.assets.warehouse import warehouse_models

    specs = {
        (spec.asset_key.to_user_string(), spec.name): spec.blocking
        for spec in warehouse_models.check_specs
    }
    for entity in RAW_ENTITIES:
        staged = {
            name for (asset, name), blocking in specs.items() if asset == f"staging/stg_{entity}"
        }
        assert staged and all(specs[(f"staging/stg_{entity}", n)] for n in staged), entity
    for asset, prefix in [
        ("reports/rpt_summary", "rows_per_active_team_"),
        ("reports/rpt_time_ranges", "rows_per_active_team_"),
        ("reports/rpt_summary", "rpt_summary_net_is_added_plus_removed"),
        ("reports/rpt_summary", "assert_report_summary_matches_subscriptions"),
        ("reports/rpt_time_ranges", "assert_report_range_totals_reconcile"),
        ("reports/rpt_subscriptions", "accepted_range_rpt_subscriptions_tokens_remaining"),
    ]:
        assert any(a == asset and n.startswith(prefix) and b for (a, n), b in specs.items()), (
            asset,
            prefix,
        )
