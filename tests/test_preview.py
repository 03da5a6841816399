"""The workbook as printed: headless LibreOffice renders a hand-made team workbook to PDF.

Sheets print in order, each starting on a new page, so a sheet printing on one page is
followed directly, on the next page, by the next sheet. Page texts come from pdftotext.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from orchestration.exports import write_team_workbook
from orchestration.exports.preview import main, newest_workbook, to_pdf, to_pngs
from tests.exports_support import ROWS, D, build_warehouse

# Text that only the given sheet's pages hold (its header row, repeated on every page).
MARKS = {
    "Summary": "added/removed",
    "Balances": "Unallocated",
    "Token events": "Event ID",
    "Tokens by month": "Complete",
    "Time ranges": "Start date",
}


@pytest.fixture(scope="module")
def printed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    folder = tmp_path_factory.mktemp("print")
    warehouse = build_warehouse(folder / "wh.duckdb", ROWS)
    pdf = to_pdf(write_team_workbook(warehouse, "A", D, folder / "exports"), folder / "pdf")
    return pdf, [_page_text(pdf, page) for page in range(1, _pages(pdf) + 1)]


def _pages(pdf: Path) -> int:
    info = subprocess.run(["pdfinfo", str(pdf)], check=True, capture_output=True, text=True)
    (line,) = [line for line in info.stdout.splitlines() if line.startswith("Pages:")]
    return int(line.split()[1])


def _page_text(pdf: Path, page: int) -> str:
    """The page's words, single-spaced (wrapped headers and titles joined up)."""
    command = ["pdftotext", "-f", str(page), "-l", str(page), "-layout", str(pdf), "-"]
    text = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return " ".join(text.split())


def _sheets_on(text: str) -> list[str]:
    return [sheet for sheet, mark in MARKS.items() if mark in text]


def test_summary_balances_and_time_ranges_print_on_one_page_each(printed) -> None:
    _, pages = printed
    # pages 1-5: Summary, Balances, Token events, Tokens by month, Time ranges, one each
    assert [_sheets_on(text) for text in pages[:5]] == [[sheet] for sheet in MARKS]
    # page 6 already starts Tokens by day (Time ranges took one page)
    assert pages[5].startswith("Date Tokens used 2025-11-28 1,000")
    summary = pages[0]
    for text in ("Tokens used per day (last 365 days)", "Tokens used per month", "Month"):
        assert text in summary  # both charts, down to the lower one's axis title
    assert "1,001" in summary and "1,004" in summary  # thousands separators as printed
    balances = pages[1]
    assert "5.0%" in balances and "11.11" in balances and "low balance" in balances
    assert "Past 12 months 2025-11-01 2026-10-31" in pages[4]


def test_long_sheets_repeat_their_header_on_every_page(printed) -> None:
    _, pages = printed
    days = [text for text in pages if text.startswith("Date Tokens used 20")]
    assert len(days) >= 2  # 365 rows need several pages; each begins with the header
    dates = sorted(word for text in days for word in text.split() if word[:2] == "20")
    assert len(dates) == 365 and dates[0] == "2025-11-28" and dates[-1] == "2026-11-27"


def test_product_charts_are_printed(printed) -> None:
    _, pages = printed
    everything = "\n".join(pages)
    assert "Total tokens used per product (Past 12 months)" in everything
    # (a title wrapped onto two lines may come out with table text between its lines)
    assert "Users per token band, Past 12 months (every" in everything
    assert "Tokens used in the range (band)" in everything


def test_make_preview_renders_png_pages(printed, tmp_path: Path) -> None:
    pdf, pages = printed
    pngs = to_pngs(pdf, tmp_path)
    assert len(pngs) == len(pages)
    assert pngs[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_preview_picks_the_newest_as_of_first_team(tmp_path: Path) -> None:
    for team, as_of in (("B", "2026-11-27"), ("C", "2026-11-27"), ("A", "2026-11-26")):
        folder = tmp_path / team / as_of
        folder.mkdir(parents=True)
        (folder / f"flex_usage_{team}_{as_of}.xlsx").write_bytes(b"")
    (tmp_path / "A" / "on-demand").mkdir()
    assert newest_workbook(tmp_path).name == "flex_usage_B_2026-11-27.xlsx"
    assert newest_workbook(tmp_path, "A").name == "flex_usage_A_2026-11-26.xlsx"
    assert main(["--exports", str(tmp_path), "--out", str(tmp_path / "out"), "--team", "Z"]) == 2
