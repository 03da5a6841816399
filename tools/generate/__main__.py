"""`python -m tools.generate`: write synthetic daily deliveries (demo and test data).

Run from the repository root. Writes one folder per day (YYYY-MM-DD/, seven CSV
files, manifest.json written last); the same arguments always write the same bytes.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from orchestration.cli import day_argument, positive_argument
from orchestration.exports.errors import describe_os_error
from orchestration.settings import ENV_LANDING, Settings
from tools.generate.landing import generate_landing

EXAMPLE = """\
example:
  python -m tools.generate --landing landing --start 2025-11-01 --end 2026-11-27 --teams 30
"""


def parser() -> argparse.ArgumentParser:
    result = argparse.ArgumentParser(
        prog="python -m tools.generate",
        description=__doc__,
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    result.add_argument(
        "--landing",
        type=Path,
        default=Settings.from_env().landing_dir,
        metavar="DIR",
        help=f"folder to write the deliveries into (env {ENV_LANDING}); default: %(default)s",
    )
    result.add_argument(
        "--start",
        type=day_argument,
        required=True,
        metavar="YYYY-MM-DD",
        help="first delivery date (required)",
    )
    result.add_argument(
        "--end",
        type=day_argument,
        required=True,
        metavar="YYYY-MM-DD",
        help="last delivery date, inclusive (required)",
    )
    result.add_argument(
        "--teams",
        type=positive_argument,
        default=30,
        metavar="N",
        help="number of teams, at least 1; default: %(default)s",
    )
    result.add_argument(
        "--seed",
        type=int,
        default=7,
        metavar="N",
        help="random seed (same seed, same files); default: %(default)s",
    )
    return result


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        summary = generate_landing(
            args.landing, args.start, args.end, teams=args.teams, seed=args.seed
        )
    except OSError as err:
        print(f"error: {describe_os_error(err)}", file=sys.stderr)
        return 1
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    print(
        f"wrote {summary.days:,} deliveries to {args.landing}: {summary.teams:,} teams, "
        f"{summary.users:,} users, {summary.usage_rows:,} usage rows"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
