"""Print preview of a team's workbook: PDF (headless LibreOffice) and PNG pages (pdftoppm).

``make preview [TEAM=<team_id>]`` renders the newest workbook of the team (default: the
first team, by id, of the newest as-of date in the exports folder) into a git-ignored
folder, to see how the workbook prints. Needs the Debian packages ``libreoffice-calc``
and ``poppler-utils`` (and ``fonts-crosextra-carlito`` for Calibri's metrics).
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from .errors import ExportError

PNG_DPI = 80
_AS_OF = re.compile(r"\d{4}-\d{2}-\d{2}")


def newest_workbook(exports_dir: Path, team_id: str | None = None) -> Path:
    """The newest nightly workbook of ``team_id``, or of the first team of the newest as-of."""
    books = sorted(
        (folder.name, folder.parent.name, book)
        for folder in Path(exports_dir).glob("*/*")
        if _AS_OF.fullmatch(folder.name) and (team_id is None or folder.parent.name == team_id)
        for book in folder.glob("flex_usage_*.xlsx")
    )
    if not books:
        who = f"team {team_id}" if team_id else "any team"
        raise ExportError(f"no nightly workbook of {who} in {exports_dir}; run `make run` first")
    newest = books[-1][0]
    return next(book for as_of, _, book in books if as_of == newest)


def to_pdf(workbook: Path, out_dir: Path) -> Path:
    """``workbook`` printed to ``<out_dir>/<name>.pdf`` by headless LibreOffice.

    A private LibreOffice profile lets conversions run side by side.
    """
    soffice = shutil.which("soffice")
    if soffice is None:
        raise ExportError("soffice not found: install the Debian package libreoffice-calc")
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="lo-profile-") as profile:
        subprocess.run(
            [
                soffice,
                f"-env:UserInstallation={Path(profile).as_uri()}",
                "--headless",
                "--convert-to",
                "pdf",
                "--outdir",
                str(out_dir),
                str(workbook),
            ],
            check=True,
            capture_output=True,
            timeout=300,
        )
    pdf = out_dir / f"{workbook.stem}.pdf"
    if not pdf.is_file():
        raise ExportError(f"LibreOffice wrote no PDF for {workbook}")
    return pdf


def to_pngs(pdf: Path, out_dir: Path, dpi: int = PNG_DPI) -> list[Path]:
    """One PNG per page of ``pdf`` (``<stem>-<page>.png``), by pdftoppm."""
    if shutil.which("pdftoppm") is None:
        raise ExportError("pdftoppm not found: install the Debian package poppler-utils")
    for old in out_dir.glob(f"{pdf.stem}-*.png"):
        old.unlink()
    prefix = out_dir / pdf.stem
    subprocess.run(["pdftoppm", "-png", "-r", str(dpi), str(pdf), str(prefix)], check=True)
    return sorted(out_dir.glob(f"{pdf.stem}-*.png"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--exports", type=Path, required=True, help="the exports folder")
    parser.add_argument("--out", type=Path, required=True, help="where the PDF and PNGs go")
    parser.add_argument("--team", default=None, help="team id (default: the first team)")
    args = parser.parse_args(argv)
    try:
        workbook = newest_workbook(args.exports, args.team or None)
        pdf = to_pdf(workbook, args.out)
        pages = to_pngs(pdf, args.out)
    except ExportError as exc:
        print(f"preview: {exc}", file=sys.stderr)
        return 2
    print(f"{workbook}\n-> {pdf} ({len(pages)} pages as PNG in {args.out})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
