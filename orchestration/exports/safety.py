"""Text safety for spreadsheets and csv files.

Formula injection: text that a spreadsheet program could evaluate (leading ``=``, ``+``,
``-``, ``@``, tab or carriage return) is stored as quote-prefixed text in xlsx and gets a
leading apostrophe in csv.

xlsx text encoding: XML cannot carry a carriage return or most control characters
verbatim (parsers turn CR into LF, others are illegal), so they are written with the
OOXML ``_xHHHH_`` escape that Excel decodes; a literal ``_xHHHH_`` in the text has its
underscore escaped (``_x005F_``) so it reads back unchanged.

Excel's cell limit: text longer than 32,767 characters is cut in xlsx (csv keeps it whole).
"""

import re

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
XLSX_MAX_CHARS = 32_767  # Excel's limit on the text of one cell
CUT_MARK = "…"
_OOXML_UNSAFE = re.compile(r"_(?=x[0-9A-Fa-f]{4}_)|[\x00-\x08\x0b-\x1f]")


def is_formula_like(text: str) -> bool:
    """True when a spreadsheet program could read ``text`` as a formula."""
    return text.startswith(FORMULA_PREFIXES)


def csv_text(text: str) -> str:
    """``text`` for a csv cell: a leading apostrophe is added when it looks like a formula."""
    return "'" + text if is_formula_like(text) else text


def xlsx_cut(text: str) -> str:
    """``text`` within Excel's cell limit: a longer text keeps its first 32,766 characters
    followed by ``…``."""
    if len(text) <= XLSX_MAX_CHARS:
        return text
    return text[: XLSX_MAX_CHARS - 1] + CUT_MARK


def xlsx_text(text: str) -> str:
    """``text`` encoded for an xlsx string cell (OOXML escapes for CR and control chars)."""
    if text.isprintable() and "_x" not in text:  # the common case, without a regex pass
        return text
    return _OOXML_UNSAFE.sub(_escape, text)


def _escape(match: re.Match[str]) -> str:
    return f"_x{ord(match.group()):04X}_"
