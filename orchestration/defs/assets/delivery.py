"""Delivery assets: the workbooks e-mailed to each team's admins, the index, retention.

They run in ``exports_job`` after the workbooks, from the same released reports:
``exports/admin_delivery`` (per team, with the non-blocking check ``all_delivered``),
then ``exports/index`` and ``exports/retention`` (every team of the as-of date).
"""

from datetime import UTC, date, datetime

import dagster as dg
from pydantic import Field

from orchestration.defs.assets.exports import released_run_as_of, team_workbook
from orchestration.defs.config import ExportsConfig
from orchestration.defs.partitions import TEAMS
from orchestration.defs.pools import WRITER_POOL
from orchestration.defs.resources import (
    ExportsResource,
    MailResource,
    RetentionResource,
    WarehouseResource,
)
from orchestration.delivery import log
from orchestration.delivery.content import read_team_mails
from orchestration.delivery.deliver import deliver
from orchestration.delivery.index import index_rows, write_index
from orchestration.delivery.retention import RetentionPolicy, clean_exports
from orchestration.delivery.transport import DeliveryConfigError, transport_from_env
from orchestration.warehouse import active_teams, reading

DELIVERY_KEY = dg.AssetKey(["exports", "admin_delivery"])
DELIVERED_CHECK = "all_delivered"


class DeliveryConfig(ExportsConfig):
    """The report date, and the teams whose unconfirmed e-mail the operator wants resent."""

    resend_unconfirmed: list[str] = Field(
        default=[],
        description=(
            "team ids whose last attempt is unconfirmed (the run stopped while sending) and "
            "that the mail server's log shows were not delivered: send them again"
        ),
    )


def _transport(mail: MailResource, exports: ExportsResource, as_of: date):
    try:
        return transport_from_env(mail.settings(), exports.folder, as_of)
    except DeliveryConfigError as err:
        raise dg.Failure(description=f"delivery settings: {err}") from err


@dg.asset(
    key=DELIVERY_KEY,
    partitions_def=TEAMS,
    backfill_policy=dg.BackfillPolicy.single_run(),
    deps=[team_workbook],
    group_name="exports",
    kinds={"email"},
    pool=WRITER_POOL,
    check_specs=[
        dg.AssetCheckSpec(
            DELIVERED_CHECK,
            asset=DELIVERY_KEY,
            blocking=False,
            description="Every selected team with an admin got its workbook (retried next run).",
        )
    ],
    description="E-mails each team's nightly workbook to its admins, exactly once per version.",
)
def admin_delivery(
    context: dg.AssetExecutionContext,
    config: DeliveryConfig,
    warehouse: WarehouseResource,
    exports: ExportsResource,
    mail: MailResource,
):
    """Send (or write to the outbox) the workbooks of the selected active teams.

    Each team's materialization carries its own outcome only; the counts of the run are
    on the check's result (once per run).
    """
    as_of = released_run_as_of(context, config, warehouse, "nothing delivered")
    active = set(active_teams(warehouse.reports_file, as_of))
    teams = sorted(k for k in context.partition_keys if k in active)
    transport, sender = _transport(mail, exports, as_of)
    mails = read_team_mails(warehouse.reports_file, as_of, teams)
    context.log.info(f"delivering {len(teams)} workbooks as of {as_of} to {transport.describe()}")
    with warehouse.writer() as con:
        try:
            outcomes = deliver(
                con,
                mails,
                teams,
                as_of,
                exports.folder,
                transport,
                sender,
                resend_unconfirmed=set(config.resend_unconfirmed),
            )
        finally:
            transport.close()
    problems = {o.team_id: f"{o.status}: {o.reason}" for o in outcomes if not o.ok}
    for team, text in problems.items():
        context.log.warning(f"{team}: {text}")
    counts: dict[str, int] = {}
    for outcome in outcomes:
        counts[outcome.status] = counts.get(outcome.status, 0) + 1
    # one line for the run; each team's own status is on its materialization
    context.log.info("delivered: " + ", ".join(f"{n} {s}" for s, n in sorted(counts.items())))
    for outcome in outcomes:
        context.add_asset_metadata(
            {"delivery_status": outcome.status}
            | ({"delivery_problem": problems[outcome.team_id]} if not outcome.ok else {}),
            partition_key=outcome.team_id,
        )
    yield dg.MaterializeResult(
        metadata={"as_of": as_of.isoformat(), "transport": transport.describe()}
    )
    yield dg.AssetCheckResult(
        check_name=DELIVERED_CHECK,
        asset_key=DELIVERY_KEY,
        passed=not problems,
        severity=dg.AssetCheckSeverity.ERROR,
        description=(
            "; ".join(f"{team} {text}" for team, text in problems.items())
            if problems
            else f"{len(outcomes)} teams: every admin e-mail handed over"
        ),
        metadata={
            "delivery_counts": dg.MetadataValue.json(counts),
            "problems": dg.MetadataValue.json(problems),
        },
    )


@dg.asset(
    key=["exports", "index"],
    deps=[admin_delivery],
    group_name="exports",
    kinds={"csv", "html"},
    description="index/<as_of>.csv and .html: every active team's workbook, alerts, delivery.",
)
def exports_index(
    context: dg.AssetExecutionContext,
    config: ExportsConfig,
    warehouse: WarehouseResource,
    exports: ExportsResource,
    mail: MailResource,
) -> dg.MaterializeResult:
    as_of = released_run_as_of(context, config, warehouse, "nothing delivered")
    transport, _ = _transport(mail, exports, as_of)
    mails = read_team_mails(
        warehouse.reports_file, as_of, active_teams(warehouse.reports_file, as_of)
    )
    with reading(warehouse.file) as con:
        attempts = log.attempts(con, as_of, transport.channel) if log.has_log(con) else []
    paths = write_index(exports.folder, as_of, index_rows(mails, exports.folder, as_of, attempts))
    context.log.info(f"index of {len(mails)} teams: {', '.join(str(p) for p in paths)}")
    return dg.MaterializeResult(
        metadata={
            "as_of": as_of.isoformat(),
            "teams": dg.MetadataValue.int(len(mails)),
            "index_paths": dg.MetadataValue.json([str(p) for p in paths]),
        }
    )


@dg.asset(
    key=["exports", "retention"],
    deps=[exports_index],
    group_name="exports",
    description=(
        "Removes nightly folders older than FLEX_EXPORTS_KEEP_DAYS (never a team's newest "
        "workbook) and on-demand folders older than FLEX_ON_DEMAND_KEEP_DAYS."
    ),
)
def exports_retention(
    context: dg.AssetExecutionContext,
    config: ExportsConfig,
    warehouse: WarehouseResource,
    exports: ExportsResource,
    retention: RetentionResource,
) -> dg.MaterializeResult:
    as_of = released_run_as_of(context, config, warehouse, "nothing delivered")
    try:
        policy = RetentionPolicy.from_env(retention.settings())
    except ValueError as err:
        raise dg.Failure(description=str(err)) from err
    removed = clean_exports(exports.folder, as_of, datetime.now(UTC), policy)
    for path in removed:
        context.log.info(f"retention: removed {path}")
    context.log.info(
        f"retention: {len(removed)} removed (nightly kept {policy.nightly_days} days before "
        f"{as_of}, on-demand {policy.on_demand_days} days)"
    )
    return dg.MaterializeResult(
        metadata={
            "removed": dg.MetadataValue.json([str(p) for p in removed]),
            "nightly_keep_days": dg.MetadataValue.int(policy.nightly_days),
            "on_demand_keep_days": dg.MetadataValue.int(policy.on_demand_days),
        }
    )


DELIVERY_ASSETS = [admin_delivery, exports_index, exports_retention]
