"""Crash and failure points for the fault-tolerance tests.

With ``FLEX_FAULT_KILL_AT=<point>`` in the environment, reaching that point
kills the whole process group with SIGKILL (no cleanup, like a power cut or
the OOM killer). With ``FLEX_FAULT_OSERROR_AT=<point>:<ERRNO NAME>[:<text>]`` (e.g.
``export.write:ENOSPC``), reaching that point raises that ``OSError`` on the
path being written (only on paths containing ``text``, when given), as a full
disk or a read-only file system would; the environment reaches spawned worker
processes too. Unset, a point costs one
dictionary lookup.

Points: ``ingest.before_commit`` (rows inserted, transaction open),
``dbt.mid_build`` (dbt has built some models, not all), ``export.before_rename``
(a workbook fully written to its temp file, not yet renamed), ``export.write``
(a workbook's temp file created, its bytes being written; failure points only).
"""

import errno
import os
import signal

ENV_KILL_AT = "FLEX_FAULT_KILL_AT"
ENV_OSERROR_AT = "FLEX_FAULT_OSERROR_AT"


def crash_point(name: str) -> None:
    """Die here, with the whole process group, when the tests ask for it."""
    if os.environ.get(ENV_KILL_AT) == name:
        os.killpg(os.getpgrp(), signal.SIGKILL)


def failure_point(name: str, path: os.PathLike | str) -> None:
    """Raise the ``OSError`` the tests ask for here, on ``path``."""
    point, _, rest = os.environ.get(ENV_OSERROR_AT, "").partition(":")
    code, _, only = rest.partition(":")
    if point == name and only in str(path):
        number = getattr(errno, code)
        raise OSError(number, os.strerror(number), str(path))
