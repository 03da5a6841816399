"""One report date per run: the first step decides it, every later step reads the same."""

from datetime import date

import dagster as dg

from orchestration.defs.assets.ingest import raw_deliveries
from orchestration.defs.config import AS_OF_TAG, RefreshConfig, newest_report_date, run_as_of
from orchestration.defs.resources import LandingResource, WarehouseResource
from tests.landing_builder import write_delivery

D1, D2, D3 = "2026-03-02", "2026-03-03", "2026-03-04"


def _run(tmp_path, tags: dict[str, str] | None = None) -> tuple[dict[str, date], dict]:
    """Ingest (the real asset), a delivery landing, then a later refresh step.

    Returns the date each step worked with and the run's tags.
    """
    landing = tmp_path / "landing"
    seen: dict[str, date] = {}

    @dg.asset(deps=[dg.AssetKey(["raw", "usage"])])
    def upstream_delivers_meanwhile(landing: LandingResource) -> None:
        write_delivery(landing.folder, D3)

    @dg.asset(deps=[upstream_delivers_meanwhile])
    def later_step(
        context: dg.AssetExecutionContext, config: RefreshConfig, landing: LandingResource
    ) -> None:
        seen["later"] = run_as_of(context, config.as_of, lambda: newest_report_date(landing.folder))

    instance = dg.DagsterInstance.ephemeral()
    result = dg.materialize(
        [raw_deliveries, upstream_delivers_meanwhile, later_step],
        instance=instance,
        resources={
            "landing": LandingResource(path=str(landing)),
            "warehouse": WarehouseResource(path=str(tmp_path / "wh.duckdb")),
        },
        tags=tags or {},
    )
    (usage,) = [
        m
        for m in result.asset_materializations_for_node("raw_deliveries")
        if m.asset_key == dg.AssetKey(["raw", "usage"])
    ]
    seen["ingest"] = date.fromisoformat(usage.metadata["as_of"].value)
    return seen, instance.get_run_by_id(result.run_id).tags


def test_a_delivery_landing_mid_run_does_not_change_the_date_of_later_steps(tmp_path):
    for day in (D1, D2):
        write_delivery(tmp_path / "landing", day)
    seen, tags = _run(tmp_path)
    # the ingest decided the newest complete delivery, D2, and recorded it on the run
    assert seen == {"ingest": date(2026, 3, 3), "later": date(2026, 3, 3)}
    assert tags[AS_OF_TAG] == D2
    # worked out afresh, the later step would have reported as of the new delivery
    assert newest_report_date(tmp_path / "landing") == date(2026, 3, 4)


def test_every_step_reads_the_date_its_launcher_tagged(tmp_path):
    for day in (D1, D2):
        write_delivery(tmp_path / "landing", day)
    seen, tags = _run(tmp_path, tags={AS_OF_TAG: D1})
    assert seen == {"ingest": date(2026, 3, 2), "later": date(2026, 3, 2)}
    assert tags[AS_OF_TAG] == D1
