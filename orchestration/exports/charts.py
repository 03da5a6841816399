"""Charts of the nightly workbook, referencing the cells of their source sheets.

Every chart has a title and axis titles, and is sized so that it stays readable when its
sheet is printed one page wide.
"""

from __future__ import annotations

from dataclasses import dataclass

from openpyxl.chart import BarChart, LineChart, Reference, Series
from openpyxl.chart.data_source import AxDataSource, StrRef
from openpyxl.chart.series import SeriesLabel
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from .sheets import (
    BY_PRODUCT,
    PAST_12_MONTHS,
    TOKEN_DISTRIBUTION,
    TOKENS_BY_DAY,
    TOKENS_BY_MONTH,
)
from .xlsx import SheetPart

WIDTH_CM = 24
HEIGHT_CM = 8
DISTRIBUTION_PRODUCTS = 10  # series of the Token distribution chart
_BAR_CM = 0.8  # per product of the By product chart
_MAX_HEIGHT_CM = 18


@dataclass(frozen=True)
class Block:
    """Consecutive data rows ``first``..``last`` (sheet row numbers) of one worksheet."""

    worksheet: WriteOnlyWorksheet
    first: int
    last: int

    def cells(self, column: int) -> Reference:
        return Reference(self.worksheet, min_col=column, min_row=self.first, max_row=self.last)


def tokens_by_day_chart(part: SheetPart) -> LineChart:
    """Line chart of ``Tokens used`` per ``Date`` over the rows of a Tokens by day sheet."""
    sheet, last = part.worksheet, part.rows + 1
    x, y = TOKENS_BY_DAY.position("usage_date"), TOKENS_BY_DAY.position("tokens_used")
    chart = LineChart()
    chart.title = "Tokens used per day (last 365 days)"
    chart.x_axis.title = "Date"
    chart.y_axis.title = "Tokens used"
    chart.x_axis.number_format = "yyyy-mm-dd"
    chart.add_data(Reference(sheet, min_col=y, min_row=1, max_row=last), titles_from_data=True)
    chart.set_categories(Reference(sheet, min_col=x, min_row=2, max_row=last))
    chart.legend = None  # the title and axis titles name the only series
    return _sized(chart, HEIGHT_CM)


def tokens_by_month_chart(part: SheetPart) -> BarChart:
    """Column chart of ``Tokens used`` per ``Month`` over a Tokens by month sheet."""
    sheet, last = part.worksheet, part.rows + 1
    x, y = TOKENS_BY_MONTH.position("month"), TOKENS_BY_MONTH.position("tokens_used")
    chart = _columns("Tokens used per month (the current month is incomplete)")
    chart.x_axis.title = "Month"
    chart.y_axis.title = "Tokens used"
    chart.x_axis.number_format = "yyyy-mm"
    chart.add_data(Reference(sheet, min_col=y, min_row=1, max_row=last), titles_from_data=True)
    chart.set_categories(Reference(sheet, min_col=x, min_row=2, max_row=last))
    chart.legend = None
    return _sized(chart, HEIGHT_CM)


def by_product_chart(block: Block) -> BarChart:
    """Horizontal bars of ``Total tokens used`` per product, over the Past 12 months rows."""
    chart = BarChart()
    chart.type = "bar"
    chart.title = f"Total tokens used per product ({PAST_12_MONTHS})"
    chart.x_axis.title = "Product"
    chart.y_axis.title = "Total tokens used"
    chart.x_axis.scaling.orientation = "maxMin"  # products top to bottom, as in the sheet
    values = block.cells(BY_PRODUCT.position("total_tokens_used"))
    chart.add_data(values, titles_from_data=False)
    _text_categories(chart, block.cells(BY_PRODUCT.position("product")))
    chart.legend = None
    products = block.last - block.first + 1
    return _sized(chart, min(_MAX_HEIGHT_CM, max(HEIGHT_CM, 3 + _BAR_CM * products)))


def token_distribution_chart(products: list[Block], total_products: int) -> BarChart:
    """Clustered columns: the five bands as categories, one series per product's block.

    ``products`` are the charted products' Past 12 months rows (five bands each);
    ``total_products`` how many products that range has, for the title.
    """
    chart = _columns(
        f"Users per token band, {PAST_12_MONTHS} "
        + (
            f"(the {len(products)} products with the most users)"
            if total_products > len(products)
            else "(every product)"
        )
    )
    chart.x_axis.title = "Tokens used in the range (band)"
    chart.y_axis.title = "Users"
    users, product = TOKEN_DISTRIBUTION.position("users"), TOKEN_DISTRIBUTION.position("product")
    for block in products:
        series = Series(block.cells(users))
        label = Reference(block.worksheet, min_col=product, min_row=block.first)
        series.tx = SeriesLabel(strRef=StrRef(f=str(label)))
        chart.series.append(series)
    _text_categories(chart, products[0].cells(TOKEN_DISTRIBUTION.position("band")))
    chart.legend.position = "r"
    return _sized(chart, HEIGHT_CM + 2)


def _columns(title: str) -> BarChart:
    chart = BarChart()
    chart.type = "col"
    chart.title = title
    return chart


def _text_categories(chart: BarChart, labels: Reference) -> None:
    """Single-level text categories (viewers without multi-level support number them)."""
    for series in chart.series:
        series.cat = AxDataSource(strRef=StrRef(f=str(labels)))


def _sized(chart: LineChart | BarChart, height: float) -> LineChart | BarChart:
    chart.width = WIDTH_CM
    chart.height = height
    # openpyxl 3.1 marks axes as deleted unless told otherwise; Excel then hides them.
    chart.x_axis.delete = False
    chart.y_axis.delete = False
    return chart
