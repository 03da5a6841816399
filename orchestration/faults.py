"""Crash points for the fault-tolerance tests.

With ``FLEX_FAULT_KILL_AT=<point>`` in the environment, reaching that point
kills the whole process group with SIGKILL (no cleanup, like a power cut or
the OOM killer). Unset, a crash point costs one dictionary lookup.

Points: ``ingest.before_commit`` (rows inserted, transaction open),
``dbt.mid_build`` (dbt has built some models, not all), ``export.before_rename``
(a workbook fully written to its temp file, not yet renamed).
"""

import os
import signal

ENV_KILL_AT = "FLEX_FAULT_KILL_AT"


def crash_point(name: str) -> None:
    """Die here, with the whole process group, when the tests ask for it."""
    if os.environ.get(ENV_KILL_AT) == name:
        os.killpg(os.getpgrp(), signal.SIGKILL)
