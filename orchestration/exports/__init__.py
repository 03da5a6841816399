"""Spreadsheet exports: the nightly team workbooks and the on-demand exports.

Reads the report models (``rpt_*``) of the warehouse read-only and writes xlsx (openpyxl,
write-only) and csv files atomically under the exports folder. No Dagster dependency.
"""

from .errors import ExportError, ExportRequestError
from .on_demand import export_on_demand
from .sheets import EXCEL_MAX_ROWS, NIGHTLY_REPORTS, ON_DEMAND_REPORTS
from .workbook import write_all_workbooks, write_team_workbook

__all__ = [
    "EXCEL_MAX_ROWS",
    "NIGHTLY_REPORTS",
    "ON_DEMAND_REPORTS",
    "ExportError",
    "ExportRequestError",
    "export_on_demand",
    "write_all_workbooks",
    "write_team_workbook",
]
