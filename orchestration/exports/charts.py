"""Charts of the nightly workbook, referencing the cells of their source sheets."""

from __future__ import annotations

from openpyxl.chart import BarChart, LineChart, Reference
from openpyxl.chart.data_source import AxDataSource, StrRef

from .sheets import TOKEN_DISTRIBUTION, TOKENS_BY_DAY
from .xlsx import SheetPart

_WIDTH_CM = 24
_HEIGHT_CM = 9


def tokens_by_day_chart(part: SheetPart) -> LineChart:
    """Line chart of ``Tokens used`` per ``Date`` over the rows of a Tokens by day sheet."""
    sheet, last = part.worksheet, part.rows + 1
    x, y = TOKENS_BY_DAY.position("usage_date"), TOKENS_BY_DAY.position("tokens_used")
    chart = LineChart()
    chart.title = "Tokens by day"
    chart.y_axis.title = "Tokens used"
    chart.x_axis.number_format = "yyyy-mm-dd"
    chart.add_data(Reference(sheet, min_col=y, min_row=1, max_row=last), titles_from_data=True)
    chart.set_categories(Reference(sheet, min_col=x, min_row=2, max_row=last))
    chart.legend = None
    return _sized(chart)


def token_distribution_chart(part: SheetPart) -> BarChart:
    """Column chart of ``Users`` per ``Band``, one bar per row in the sheet's order.

    The rows run by time range, then product, five bands each, so the bars come in runs
    of ``0-100`` … ``5001+``. Categories are the single ``Band`` column as text: viewers
    without multi-level category support would otherwise label the bars 1, 2, 3….
    """
    sheet, last = part.worksheet, part.rows + 1
    users = TOKEN_DISTRIBUTION.position("users")
    band = TOKEN_DISTRIBUTION.position("band")
    chart = BarChart()
    chart.type = "col"
    chart.title = "Token distribution (users per band, by time range and product)"
    chart.x_axis.title = "Band"
    chart.y_axis.title = "Users"
    chart.add_data(Reference(sheet, min_col=users, min_row=1, max_row=last), titles_from_data=True)
    labels = Reference(sheet, min_col=band, min_row=2, max_row=last)
    for series in chart.series:
        series.cat = AxDataSource(strRef=StrRef(f=str(labels)))
    chart.legend = None
    return _sized(chart)


def _sized(chart: LineChart | BarChart) -> LineChart | BarChart:
    chart.width = _WIDTH_CM
    chart.height = _HEIGHT_CM
    # openpyxl 3.1 marks axes as deleted unless told otherwise; Excel then hides them.
    chart.x_axis.delete = False
    chart.y_axis.delete = False
    return chart
