"""The Dagster code location loads and has the assets, checks, jobs, schedule and sensors."""

import importlib.metadata
from datetime import UTC, date, datetime
from pathlib import Path

import dagster as dg
from dagster_dbt.core import resource as dagster_dbt_resource
from packaging import version

from orchestration.defs.config import AS_OF_TAG
from orchestration.defs.definitions import defs
from orchestration.defs.project import dbt_project
from orchestration.defs.resources import (
    LandingResource,
    ProjectDbtResource,
    build_resources,
    env_resources,
)
from orchestration.defs.runs import delivery_run_request, refresh_run_config
from orchestration.defs.schedules import nightly_refresh
from orchestration.defs.sensors import new_delivery_sensor
from orchestration.settings import Settings
from tests.landing_builder import write_delivery


def _keys() -> set[str]:
    return {key.to_user_string() for key in defs.resolve_asset_graph().get_all_asset_keys()}


def test_ingest_dbt_and_export_assets_are_in_one_graph():
    keys = _keys()
    for entity in ("teams", "users", "team_members", "products", "token_packs"):
        assert f"raw/{entity}" in keys
    assert {"raw/usage", "raw/token_events", "raw/quarantine", "raw/user_hashes"} <= keys
    assert {"staging/stg_usage", "marts/fct_usage", "reports/rpt_summary"} <= keys
    assert "exports/team_workbook" in keys


def test_exports_follow_the_release_of_every_report_model():
    graph = defs.resolve_asset_graph()
    reports = {k for k in graph.get_all_asset_keys() if k.path[0] == "reports"}
    release = dg.AssetKey(["reports", "release"])
    assert len(reports) > 10
    assert graph.get(release).parent_keys == reports - {release}
    assert graph.get(dg.AssetKey(["exports", "team_workbook"])).parent_keys == reports
    assert "reports__release" in refresh_run_config(date(2026, 3, 2))["ops"]


def test_schedule_and_sensors_run_once_deployed():
    assert nightly_refresh.default_status == dg.DefaultScheduleStatus.RUNNING
    for sensor in defs.sensors:
        assert sensor.default_status == dg.DefaultSensorStatus.RUNNING, sensor.name


def test_dbt_sources_link_to_ingest_assets():
    graph = defs.resolve_asset_graph()
    parents = graph.get(dg.AssetKey(["staging", "stg_usage_history"])).parent_keys
    assert dg.AssetKey(["raw", "usage"]) in parents
    # snapshot staging reads the content tables and raw.snapshot_files: the ingest's assets
    for name in ("teams", "users", "team_members", "products", "token_packs"):
        parents = graph.get(dg.AssetKey(["staging", f"stg_{name}"])).parent_keys
        expected = {dg.AssetKey(["raw", t]) for t in (name, "snapshot_files", "deliveries")}
        assert parents == expected, name
    ingested = graph.get(dg.AssetKey(["raw", "usage"])).parent_keys | {
        dg.AssetKey(["raw", "usage"])
    }
    external = [k for k in graph.get_all_asset_keys() if k.path[0] == "raw" and k not in ingested]
    assert all(graph.get(k).is_materializable for k in external), external


def test_writers_share_one_pool_and_ingest_is_one_step_whatever_the_deliveries():
    graph = defs.resolve_asset_graph()
    ingest = graph.get(dg.AssetKey(["raw", "usage"]))
    assert ingest.partitions_def is None  # a backfill records one event per raw asset
    pools = {
        node.pool
        for node in defs.resolve_job_def("refresh_job").graph.node_defs
        if node.name in {"raw_deliveries", "warehouse_models", "raw__user_hashes"}
    }
    assert pools == {"duckdb_writer"}


def test_quality_checks_are_attached_to_their_assets():
    check_keys = {
        (key.asset_key.to_user_string(), key.name)
        for key in defs.resolve_asset_graph().asset_check_keys
    }
    assert ("raw/quarantine", "reject_rate_gate") in check_keys
    assert ("raw/usage", "raw_usage_quality") in check_keys
    assert any(
        asset == "reports/rpt_summary" and name.startswith("rows_per_active_team_")
        for asset, name in check_keys
    )
    assert ("marts/fct_usage", "unallocated_tokens") in check_keys
    # dbt tests appear as asset checks too
    assert any(name.startswith("unique_") for _, name in check_keys)
    # one check per model for all its not-null columns (tests/generic/columns_not_null.sql)
    assert ("staging/stg_users", "columns_not_null_stg_users") in check_keys


def test_schedule_runs_nightly_at_two_utc_as_of_yesterday(tmp_path, monkeypatch):
    assert nightly_refresh.cron_schedule == "0 2 * * *"
    assert nightly_refresh.execution_timezone == "UTC"
    for day in ("2026-03-01", "2026-03-02", "2026-03-03"):
        write_delivery(tmp_path, day)
    monkeypatch.delenv("FLEX_LANDING_DIR", raising=False)  # the resource says where
    with dg.instance_for_test() as instance:
        context = dg.build_schedule_context(
            instance=instance,
            scheduled_execution_time=datetime(2026, 3, 3, 2, 0, tzinfo=UTC),
            resources={"landing": LandingResource(path=str(tmp_path))},
        )
        request = nightly_refresh(context)
    # every pending delivery up to yesterday, in one run; today's is left for tomorrow
    assert request.run_config == refresh_run_config(date(2026, 3, 2))
    assert request.tags == {AS_OF_TAG: "2026-03-02"}
    assert request.run_key == "nightly-2026-03-02"


def test_sensor_requests_a_refresh_once_per_new_delivery(tmp_path, monkeypatch):
    write_delivery(tmp_path, "2026-03-01")
    (tmp_path / "2026-03-02").mkdir()  # still being written: no manifest
    monkeypatch.setenv("FLEX_LANDING_DIR", str(tmp_path))
    monkeypatch.setenv("FLEX_WAREHOUSE", str(tmp_path / "not_built_yet.duckdb"))
    resources = build_resources(Settings.from_env())
    with dg.instance_for_test() as instance:
        context = dg.build_sensor_context(instance=instance, resources=resources)
        first = new_delivery_sensor(context)
        assert first.run_config == refresh_run_config(date(2026, 3, 1))
        again = dg.build_sensor_context(
            instance=instance, cursor=context.cursor, resources=resources
        )
        assert isinstance(new_delivery_sensor(again), dg.SkipReason)
        write_delivery(tmp_path, "2026-03-02")
        later = dg.build_sensor_context(
            instance=instance, cursor=context.cursor, resources=resources
        )
        request = new_delivery_sensor(later)
        assert request.run_config == refresh_run_config(date(2026, 3, 2))
        assert request.tags == {AS_OF_TAG: "2026-03-02"}


def test_code_location_reads_its_settings_when_a_run_starts(tmp_path, monkeypatch):
    """A variable set when the code location loads becomes a dg.EnvVar, read when the
    resource is built for a run or tick; an unset one keeps the documented default."""
    monkeypatch.setenv("FLEX_LANDING_DIR", "/not/yet/decided")
    monkeypatch.setenv("FLEX_REJECT_THRESHOLD", "0.5")
    monkeypatch.delenv("FLEX_EXPORTS_DIR", raising=False)
    resources = env_resources()
    monkeypatch.setenv("FLEX_LANDING_DIR", str(tmp_path))
    with dg.build_resources(resources) as built:
        assert built.landing.folder == tmp_path
        assert built.reject_gate.limit == 0.5
        assert built.exports.folder == Path("exports").resolve()


def test_mail_and_retention_settings_reach_their_steps_as_resources(tmp_path, monkeypatch):
    """SMTP and retention settings are resources (from their variables), not step-time
    reads of the environment; unset ones leave the outbox and default retention."""
    from orchestration.defs.assets.delivery import admin_delivery, exports_retention
    from orchestration.delivery.retention import RetentionPolicy
    from orchestration.delivery.transport import OutboxTransport, SmtpTransport, transport_from_env

    assert "mail" in admin_delivery.required_resource_keys
    assert "retention" in exports_retention.required_resource_keys
    for name in ("FLEX_SMTP_URL", "FLEX_MAIL_FROM", "FLEX_EXPORTS_KEEP_DAYS"):
        monkeypatch.delenv(name, raising=False)
    with dg.build_resources(env_resources()) as built:
        transport, _ = transport_from_env(built.mail.settings(), tmp_path, date(2026, 3, 2))
        assert isinstance(transport, OutboxTransport)
        default = RetentionPolicy.from_env({})
        assert RetentionPolicy.from_env(built.retention.settings()) == default
    monkeypatch.setenv("FLEX_SMTP_URL", "smtp://mail.example.test:2525")
    monkeypatch.setenv("FLEX_MAIL_FROM", "reports@example.test")
    monkeypatch.setenv("FLEX_EXPORTS_KEEP_DAYS", "9")
    resources = build_resources(Settings.from_env())
    with dg.build_resources(resources) as built:
        transport, sender = transport_from_env(built.mail.settings(), tmp_path, date(2026, 3, 2))
        assert isinstance(transport, SmtpTransport) and sender == "reports@example.test"
        assert RetentionPolicy.from_env(built.retention.settings()).nightly_days == 9


def test_run_request_carries_the_as_of_date_and_needs_a_complete_delivery(tmp_path):
    landing = tmp_path / "landing"
    for day in ("2026-03-01", "2026-03-02"):
        write_delivery(landing, day)
    request = delivery_run_request(landing, date(2026, 3, 2), "nightly-2026-03-02")
    assert request is not None and request.run_key == "nightly-2026-03-02"
    assert request.tags == {AS_OF_TAG: "2026-03-02"}
    config = request.run_config["ops"]
    assert {op: c["config"]["as_of"] for op, c in config.items()} == {
        "raw_deliveries": "2026-03-02",
        "warehouse_models": "2026-03-02",
        "reports__release": "2026-03-02",
    }
    assert delivery_run_request(landing, date(2026, 2, 28), None) is None


def test_old_dbt_run_folders_are_pruned(tmp_path):
    """Each build's dbt target folder is kept for inspection, but not forever."""
    import os
    import time

    from orchestration.defs.assets.warehouse import prune_invocation_dirs

    now = time.time()
    ages_hours = [30, 20, 10, 9, 8, 7, 6, 5, 4, 3, 2.5, 0.8, 0.5]  # the last two recent
    for index, age in enumerate(ages_hours):
        folder = tmp_path / f"warehouse_models-{index:07d}-run"
        folder.mkdir()
        os.utime(folder, (now - age * 3600, now - age * 3600))
    (tmp_path / "manifest.json").write_text("{}")
    pruned = prune_invocation_dirs(tmp_path, keep=3)
    kept = sorted(p.name for p in tmp_path.glob("warehouse_models-*"))
    assert kept == [f"warehouse_models-{i:07d}-run" for i in (10, 11, 12)]
    assert len(pruned) == 10 and (tmp_path / "manifest.json").exists()
    # beyond `keep` but touched less than an hour ago (a build running next to this one)
    assert [p.name for p in prune_invocation_dirs(tmp_path, keep=1)] == [
        "warehouse_models-0000010-run"
    ]


def test_large_builds_from_scratch_run_dbt_on_one_thread(tmp_path, monkeypatch):
    """One dbt thread for a build from scratch of many usage rows, else the profile's."""
    import duckdb

    from orchestration.defs.assets import warehouse as warehouse_assets

    monkeypatch.setattr(warehouse_assets, "ONE_THREAD_FROM_USAGE_ROWS", 1000)
    file = tmp_path / "wh.duckdb"

    def threads(usage_rows: int, history: bool, full_refresh: bool = False) -> int | None:
        file.unlink(missing_ok=True)
        con = duckdb.connect(str(file))
        con.execute("create schema raw")
        con.execute(f"create table raw.usage as select range as id from range({usage_rows})")
        if history:
            con.execute("create table main.stg_usage_history as select 1 as id")
        con.close()
        return warehouse_assets.build_threads(file, full_refresh)

    assert threads(1000, history=False) == 1  # the first build of a large warehouse
    assert threads(1000, history=True, full_refresh=True) == 1
    assert threads(1000, history=True) is None  # nightly: incremental
    assert threads(999, history=False) is None  # small: dbt's two threads pay
    assert threads(999, history=True, full_refresh=True) is None
    # only a matter of speed: a warehouse without usage, or no file at all, keeps two threads
    file.unlink()
    assert warehouse_assets.build_threads(file, full_refresh=True) is None
    duckdb.connect(str(file)).close()
    assert warehouse_assets.build_threads(file, full_refresh=True) is None


def test_report_identity_checks_block_and_alert_listings_warn():
    from orchestration.defs.assets.warehouse import warehouse_models

    specs = {
        (spec.asset_key.to_user_string(), spec.name): spec.blocking
        for spec in warehouse_models.check_specs
    }
    assert specs[("reports/rpt_subscriptions", "assert_report_pack_identity")] is True
    assert specs[("reports/rpt_balances", "assert_report_balances_match_summary")] is True
    assert specs[("reports/rpt_subscriptions", "warn_report_packs_outside_identity")] is False
    assert specs[("reports/rpt_balances", "warn_report_balance_alerts")] is False
    # a blocking check on a report asset holds back the release, which depends on every report
    graph = defs.resolve_asset_graph()
    parents = graph.get(dg.AssetKey(["reports", "release"])).parent_keys
    assert {
        dg.AssetKey(["reports", "rpt_balances"]),
        dg.AssetKey(["reports", "rpt_subscriptions"]),
    } <= parents


def test_dbt_resource_knows_its_version_without_starting_dbt(monkeypatch):
    """Each build starts one dbt process, not a second one for ``dbt --version``."""

    def no_subprocess(*args, **kwargs):
        raise AssertionError(f"started a process: {args}")

    monkeypatch.setattr(dagster_dbt_resource, "check_output", no_subprocess)
    dbt = env_resources()["dbt"]
    assert isinstance(dbt, ProjectDbtResource)
    assert dbt._cli_version == version.parse(importlib.metadata.version("dbt-core"))


def test_dbt_resource_opens_no_adapter_in_the_dagster_process(monkeypatch):
    """dagster-dbt would load the project, profile and macros (2.4 s) before each build."""
    started = {}

    def record_run(**kwargs):
        started.update(kwargs)
        return "invocation"

    monkeypatch.setattr(dagster_dbt_resource.DbtCliInvocation, "run", record_run)
    dbt = env_resources()["dbt"]
    assert dbt.cli(["build"], manifest=dbt_project().manifest_path) == "invocation"
    assert started["args"][1:] == ["--no-use-colors", "build", "--target", "duckdb"]
    assert started["adapter"] is None
