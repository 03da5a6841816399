"""Errors raised by the export writers, and their plain-words descriptions."""

import errno
from pathlib import Path


class ExportError(Exception):
    """An export could not be produced (missing reports, inconsistent data, clash)."""


class ExportRequestError(ExportError, ValueError):
    """An export request is invalid; nothing has been written."""


class WorkbooksFailedError(ExportError):
    """Some workbooks could not be written; ``written`` holds those that were published.

    ``failures`` has one plain line per failure: ``team T: path: reason``.
    """

    def __init__(self, written: list, failures: list[str], not_attempted: int) -> None:
        self.written = written
        self.failures = failures
        self.not_attempted = not_attempted
        more = f"; {not_attempted} teams not attempted after it" if not_attempted else ""
        super().__init__("; ".join(failures) + more)


_PLAIN_REASONS = {
    errno.ENOSPC: "no space left on the disk",
    errno.EDQUOT: "disk quota exceeded",
    errno.EROFS: "read-only file system",
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
    errno.ENOTDIR: "a file is in the way where a folder should be",
    errno.EEXIST: "a file is in the way where a folder should be",
}


def describe_os_error(err: OSError) -> str:
    """``<path>: <reason in plain words>`` for a failed write.

    For a missing folder that cannot be made because a file is in the way, the path
    named is that file (the first part of the path that exists and is not a folder).
    """
    path = Path(err.filename) if err.filename else None
    reason = _PLAIN_REASONS.get(err.errno or 0, err.strerror or str(err))
    if path is not None and err.errno in (errno.ENOTDIR, errno.EEXIST):
        blocker = next((p for p in (path, *path.parents) if p.exists()), path)
        if blocker.is_dir():  # EEXIST on a name that is taken, not a file in the way
            return f"{path}: {err.strerror}"
        path = blocker
    return f"{path}: {reason}" if path is not None else reason
