"""Errors raised by the export writers."""


class ExportError(Exception):
    """An export could not be produced (missing reports, inconsistent data, clash)."""


class ExportRequestError(ExportError, ValueError):
    """An export request is invalid; nothing has been written."""
