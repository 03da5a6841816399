"""`flex-usage`: generate demo deliveries, refresh the warehouse, export on demand."""

from __future__ import annotations

import argparse
import sys
import warnings
from datetime import UTC, date, datetime
from pathlib import Path

from orchestration.settings import Settings


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date YYYY-MM-DD: {text!r}") from None


def _parser() -> argparse.ArgumentParser:
    env = Settings.from_env()
    parser = argparse.ArgumentParser(prog="flex-usage", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    gen = sub.add_parser("generate", help="write synthetic daily deliveries")
    gen.add_argument("--landing", type=Path, default=env.landing_dir)
    gen.add_argument("--start", type=_day, required=True)
    gen.add_argument("--end", type=_day, required=True)
    gen.add_argument("--teams", type=int, default=30)
    gen.add_argument("--seed", type=int, default=7)

    ref = sub.add_parser("refresh", help="ingest new deliveries, build the warehouse, export")
    ref.add_argument("--landing", type=Path, default=env.landing_dir)
    ref.add_argument("--as-of", type=_day, default=None, help="default: newest complete delivery")
    ref.add_argument("--warehouse", type=Path, default=env.warehouse)
    ref.add_argument("--exports", type=Path, default=env.exports_dir)
    ref.add_argument(
        "--full-refresh", action="store_true", help="rebuild incremental models from scratch"
    )

    exp = sub.add_parser("export", help="on-demand export (the portal's Export button)")
    exp.add_argument("--team", required=True)
    exp.add_argument("--types", required=True, help="comma separated: subscriptions,users,usage")
    exp.add_argument("--format", dest="fmt", choices=["xlsx", "csv"], default="xlsx")
    exp.add_argument("--from", dest="start", type=_day, default=None)
    exp.add_argument("--to", dest="end", type=_day, default=None)
    exp.add_argument(
        "--as-of", type=_day, default=None, help="default: the date of the checked reports"
    )
    exp.add_argument("--warehouse", type=Path, default=env.warehouse)
    exp.add_argument("--exports", type=Path, default=env.exports_dir)
    return parser


def _generate(args: argparse.Namespace) -> int:
    from orchestration.generate import generate_landing

    summary = generate_landing(args.landing, args.start, args.end, teams=args.teams, seed=args.seed)
    print(f"wrote deliveries to {args.landing}: {summary}")
    return 0


def _print_summary(result, outcome: str) -> None:
    print(
        f"refresh as of {result.as_of} {outcome}: "
        f"{len(result.deliveries_ingested)} deliveries ingested, "
        f"{result.rows_loaded} rows loaded, {result.rows_rejected} rows quarantined; "
        f"checks {result.checks_passed} passed, {result.checks_warned} warned, "
        f"{result.checks_failed} failed; {len(result.workbooks)} workbooks written\n"
        f"warehouse: {result.warehouse}\nexports:   {result.exports_dir}"
    )
    if result.delivery_counts:
        done = ", ".join(f"{n} {status}" for status, n in sorted(result.delivery_counts.items()))
        print(
            f"delivery:  {done}",
            *(f"  {t} {why}" for t, why in result.delivery_problems.items()),
            sep="\n",
        )


def _refresh(args: argparse.Namespace) -> int:
    from orchestration.pipeline import NothingToRefresh, RefreshError, refresh

    try:
        result = refresh(
            args.landing, args.as_of, args.warehouse, args.exports, full_refresh=args.full_refresh
        )
    except NothingToRefresh as news:
        print(news)
        return 0
    except RefreshError as err:
        if err.summary is not None:
            _print_summary(err.summary, "FAILED")
        raise
    _print_summary(result, "done")
    return 0


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
    )
    for path in paths:
        print(path)
    return 0


def _quiet_library_warnings() -> None:
    """Third-party notices (beta APIs, pyspark on pandas 3) are not the operator's concern."""
    warnings.filterwarnings("ignore", message=".*is currently in beta.*")
    warnings.filterwarnings("ignore", category=FutureWarning, module="pyspark")


def main(argv: list[str] | None = None) -> int:
    _quiet_library_warnings()
    args = _parser().parse_args(argv)
    handlers = {"generate": _generate, "refresh": _refresh, "export": _export}
    try:
        return handlers[args.command](args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as err:  # every failure ends with one clear line, not a traceback
        print(f"flex-usage {args.command}: error: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
