"""`flex-usage`: refresh the warehouse, export on demand, and look inside (status,
quarantine). Demo deliveries are written by `python -m tools.generate`."""

from __future__ import annotations

import argparse
import os
import sys
import time
import traceback
import warnings
from datetime import UTC, date, datetime
from pathlib import Path

from orchestration.settings import (
    ENV_DBT_TARGET,
    ENV_EXPORTS,
    ENV_LANDING,
    ENV_PII_KEY,
    ENV_REJECT_THRESHOLD,
    ENV_WAREHOUSE,
    Settings,
)

# Kept in step with orchestration.exports.on_demand (tests compare them); not imported
# here so that `flex-usage --help` and a refused second refresh answer at once.
USAGE_DAYS_DEFAULT = 30
USAGE_DAYS_MAX = 365
QUARANTINE_LIMIT = 50
STATUS_WAIT_SECONDS = 2.0
QUARANTINE_WAIT_SECONDS = 60.0

ENVIRONMENT = f"""\
environment:
  {ENV_LANDING}       landing folder (default ./landing)
  {ENV_WAREHOUSE}         DuckDB file (default ./warehouse/flex_usage.duckdb)
  {ENV_EXPORTS}       exports folder (default ./exports)
  {ENV_PII_KEY}      HMAC key of hashed_autodesk_id; required when a team hides
                          personal data (no default)
  {ENV_REJECT_THRESHOLD}  largest share of quarantined rows per file (default 0.01)
  {ENV_DBT_TARGET}        duckdb (default) or spark
  DAGSTER_HOME            keeps the runs' event logs (else a throw-away instance)
"""

HELP = {
    "main": f"""\
commands, with an example each:
  flex-usage refresh                       ingest, build, check, write the workbooks
  flex-usage status                        newest delivery, last refresh, release
  flex-usage quarantine --delivery 2026-01-25
  flex-usage export --team ACME_0001 --types usage --format csv

Run `flex-usage COMMAND --help` for the options of a command.

{ENVIRONMENT}""",
    "refresh": f"""\
example:
  flex-usage refresh --as-of 2026-11-27

Prints one line per stage (ingest, user hashes, dbt build, checks, release,
exports) with counts and seconds, a progress bar on a terminal (a line every
10 s otherwise), then a summary naming every warning and failure.
Exit status: 0 done (or nothing to refresh), 1 failed (one `error:` line per
failure on stderr), 130 interrupted. A second refresh of the same warehouse
is refused at once.

{ENVIRONMENT}""",
    "export": f"""\
example:
  flex-usage export --team ACME_0001 --types subscriptions,users,usage \\
                    --format xlsx --from 2026-01-01 --to 2026-03-31

Writes <exports>/<team>/on-demand/<YYYYMMDDTHHMMSSZ>/ (one workbook, or one
<type>.csv per type) and prints the files written. Only checked reports are
exported: a refresh must have succeeded. A refused request writes nothing.

{ENVIRONMENT}""",
    "status": f"""\
example:
  flex-usage status

Reads the landing folder, the release marker and the last CLI refresh from
files; the warehouse's figures through a read-only connection, waiting at most
--wait seconds while a refresh writes it (the rest is still shown).

{ENVIRONMENT}""",
    "quarantine": f"""\
example:
  flex-usage quarantine --delivery 2026-01-25 --file usage.csv --limit 20

One entry per rejected row: delivery, file and line, the reason, the raw values.
Waits at most --wait seconds while a refresh writes the warehouse, then fails
with a message (exit status 1); run it again once that step has finished.

{ENVIRONMENT}""",
}


def day_argument(text: str) -> date:
    """argparse type: a date YYYY-MM-DD."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date YYYY-MM-DD: {text!r}") from None


def positive_argument(text: str) -> int:
    """argparse type: a whole number of at least 1."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"not a whole number of at least 1: {text!r}")
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if value < 0:
        raise argparse.ArgumentTypeError(f"not a number of seconds (0 or more): {text!r}")
    return value


def _subparser(sub, name: str, summary: str) -> argparse.ArgumentParser:
    parser = sub.add_parser(
        name,
        help=summary,
        description=summary,
        epilog=HELP[name],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--verbose",
        action="store_true",
        help="full Dagster and dbt logs, and the traceback of an unexpected error",
    )
    return parser


def _location_options(parser: argparse.ArgumentParser, env: Settings, *names: str) -> None:
    help_texts = {
        "landing": (env.landing_dir, f"folder of the daily deliveries (env {ENV_LANDING})"),
        "warehouse": (env.warehouse, f"the DuckDB warehouse file (env {ENV_WAREHOUSE})"),
        "exports": (env.exports_dir, f"where the exports are written (env {ENV_EXPORTS})"),
    }
    for name in names:
        default, text = help_texts[name]
        parser.add_argument(
            f"--{name}",
            type=Path,
            default=default,
            metavar="DIR" if name != "warehouse" else "FILE",
            help=f"{text}; default: %(default)s",
        )


def _parser() -> argparse.ArgumentParser:
    env = Settings.from_env()
    parser = argparse.ArgumentParser(
        prog="flex-usage",
        description=__doc__,
        epilog=HELP["main"],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    ref = _subparser(
        sub,
        "refresh",
        "ingest new deliveries, build and check the warehouse, write the nightly workbooks",
    )
    _location_options(ref, env, "landing", "warehouse", "exports")
    ref.add_argument(
        "--as-of",
        type=day_argument,
        default=None,
        metavar="YYYY-MM-DD",
        help="report date; deliveries dated later are left for later; "
        "default: the newest complete delivery",
    )
    ref.add_argument(
        "--full-refresh",
        action="store_true",
        help="rebuild every model from the raw layer instead of incrementally "
        "(same tables, slower); default: off",
    )

    exp = _subparser(sub, "export", "on-demand export (the portal's Export button)")
    exp.add_argument(
        "--team", required=True, metavar="TEAM_ID", help="an active team id (required)"
    )
    exp.add_argument(
        "--types",
        required=True,
        metavar="LIST",
        help="comma separated, any of subscriptions,users,usage (required)",
    )
    exp.add_argument(
        "--format",
        dest="fmt",
        choices=["xlsx", "csv"],
        default="xlsx",
        help="one workbook, or one CSV file per type; default: %(default)s",
    )
    exp.add_argument(
        "--from",
        dest="start",
        type=day_argument,
        default=None,
        metavar="YYYY-MM-DD",
        help=f"first day of Usage; default: {USAGE_DAYS_DEFAULT - 1} days before --to "
        f"(a {USAGE_DAYS_DEFAULT}-day range); the range may cover at most "
        f"{USAGE_DAYS_MAX} days",
    )
    exp.add_argument(
        "--to",
        dest="end",
        type=day_argument,
        default=None,
        metavar="YYYY-MM-DD",
        help="last day of Usage, on or before the report date; default: the report date",
    )
    exp.add_argument(
        "--as-of",
        type=day_argument,
        default=None,
        metavar="YYYY-MM-DD",
        help="report date; must be that of the checked reports; default: that date",
    )
    _location_options(exp, env, "warehouse", "exports")

    status = _subparser(sub, "status", "newest delivery, last refresh, release, warnings")
    _location_options(status, env, "landing", "warehouse")
    status.add_argument(
        "--wait",
        type=_seconds,
        default=STATUS_WAIT_SECONDS,
        metavar="SECONDS",
        help="how long to wait for a refresh that is writing the warehouse; default: %(default)s",
    )

    quarantine = _subparser(sub, "quarantine", "the quarantined rows with their reasons")
    _location_options(quarantine, env, "warehouse")
    quarantine.add_argument(
        "--delivery",
        type=day_argument,
        default=None,
        metavar="YYYY-MM-DD",
        help="only this delivery; default: all",
    )
    quarantine.add_argument(
        "--file", default=None, metavar="NAME", help="only this file, e.g. usage.csv; default: all"
    )
    quarantine.add_argument(
        "--limit",
        type=positive_argument,
        default=QUARANTINE_LIMIT,
        metavar="N",
        help="at most N rows, newest delivery first; default: %(default)s",
    )
    quarantine.add_argument(
        "--wait",
        type=_seconds,
        default=QUARANTINE_WAIT_SECONDS,
        metavar="SECONDS",
        help="how long to wait for a refresh that is writing the warehouse; default: %(default)s",
    )
    return parser


def _summary_line(result, outcome: str, seconds: float) -> str:
    from orchestration.console import number, plural

    return (
        f"refresh as of {result.as_of} {outcome} in {seconds:,.1f} s: "
        f"{plural(len(result.deliveries_ingested), 'delivery', 'deliveries')} ingested, "
        f"{number(result.rows_loaded)} rows loaded, {number(result.rows_rejected)} "
        f"rows quarantined; checks {number(result.checks_passed)} passed, "
        f"{number(result.checks_warned)} warned, {number(result.checks_failed)} failed; "
        f"{plural(len(result.workbooks), 'workbook')} written"
    )


def _refresh(args: argparse.Namespace) -> int:
    from orchestration.locks import refresh_lock

    # Taken before Dagster and dbt load (seconds): a second refresh is refused at once.
    with refresh_lock(args.warehouse.resolve()):
        return _refresh_locked(args)


def _refresh_locked(args: argparse.Namespace) -> int:
    from orchestration.console import Console
    from orchestration.inspection import RefreshRecord, record_refresh
    from orchestration.pipeline import NothingToRefresh, RefreshError, refresh
    from orchestration.progress import RunProgress

    console = Console(sys.stdout, bars=not args.verbose)
    progress = RunProgress(console)
    started = time.monotonic()
    failures: list[str] = []
    # Quiet: Dagster's console log off, dbt's node lines counted and dropped.
    try:
        with progress.capturing_dbt_output(echo=args.verbose):
            result = refresh(
                args.landing,
                args.as_of,
                args.warehouse,
                args.exports,
                full_refresh=args.full_refresh,
                console_level="INFO" if args.verbose else "CRITICAL",
                progress=progress,
            )
        outcome = "done"
    except NothingToRefresh as news:
        print(news)
        return 0
    except RefreshError as err:
        if err.summary is None:
            raise
        result, outcome, failures = err.summary, "FAILED", err.failures
    seconds = time.monotonic() - started
    summary = _summary_line(result, outcome, seconds)
    warned = result.warnings + progress.warnings
    record_refresh(
        result.warehouse,
        RefreshRecord(
            outcome,
            result.as_of.isoformat(),
            datetime.now(UTC).isoformat(timespec="seconds"),
            round(seconds, 1),
            summary,
            warned,
            failures,
            result.run_ids,
        ),
    )
    console.line(summary)
    for warning in warned:
        console.line(f"warning: {warning}")
    console.line(f"warehouse: {result.warehouse}\nexports:   {result.exports_dir}")
    if result.delivery_counts:
        done = ", ".join(f"{n:,} {status}" for status, n in sorted(result.delivery_counts.items()))
        console.line(f"delivery:  {done}")
        for team, why in result.delivery_problems.items():
            console.line(f"  {team} {why}")
    if warned or failures:
        runs = ", ".join(result.run_ids)
        ui = f"; runs {runs} in the Dagster UI" if os.environ.get("DAGSTER_HOME") else ""
        console.line(
            "details:   flex-usage status, flex-usage quarantine, --verbose for every log line" + ui
        )
    for failure in failures:
        print(f"error: {failure}", file=sys.stderr)
    return 1 if failures else 0


def _export(args: argparse.Namespace) -> int:
    from orchestration.exports.on_demand import export_on_demand
    from orchestration.warehouse import released_as_of, reports_file

    reports = reports_file(args.warehouse, Settings.from_env().dbt_target)
    as_of = released_as_of(args.warehouse, args.as_of)
    types = [t.strip().lower() for t in args.types.split(",") if t.strip()]
    paths = export_on_demand(
        reports,
        args.team,
        types,
        args.fmt,
        args.start,
        args.end,
        as_of,
        args.exports,
        now=datetime.now(UTC),
        confirm=lambda: released_as_of(args.warehouse, as_of),  # still released, under the lock
    )
    for path in paths:
        print(path)
    return 0


def _status(args: argparse.Namespace) -> int:
    from orchestration.inspection import status_lines

    print("\n".join(status_lines(args.landing, args.warehouse, args.wait)))
    return 0


def _quarantine(args: argparse.Namespace) -> int:
    from orchestration.inspection import quarantine_lines

    lines = quarantine_lines(args.warehouse, args.delivery, args.file, args.limit, args.wait)
    print("\n".join(lines))
    return 0


def _quiet_library_warnings() -> None:
    """Third-party notices (beta APIs, pyspark on pandas 3) are not the operator's concern."""
    warnings.filterwarnings("ignore", message=".*is currently in beta.*")
    warnings.filterwarnings("ignore", category=FutureWarning, module="pyspark")


HANDLERS = {
    "refresh": _refresh,
    "export": _export,
    "status": _status,
    "quarantine": _quarantine,
}


def main(argv: list[str] | None = None) -> int:
    _quiet_library_warnings()
    args = _parser().parse_args(argv)
    try:
        return HANDLERS[args.command](args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as err:  # every failure ends with one clear line per problem
        if args.verbose:
            traceback.print_exc()
        lines = [line for line in str(err).splitlines() if line.strip()] or [repr(err)]
        if isinstance(err, OSError) and err.filename:  # e.g. an on-demand export's folder
            from orchestration.exports.errors import describe_os_error

            lines = [describe_os_error(err)]
        for line in lines:
            print(f"error: {line}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
