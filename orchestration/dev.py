"""`make dev`: `dagster dev` on the code location, in the shared instance, stoppable.

``python -m orchestration.dev [dagster dev options]`` prepares the instance folder
(see :mod:`orchestration.instance`) and replaces itself with ``dagster dev``.

Why not start ``dagster dev`` directly: a process started in the background by a
non-interactive shell (``make dev &`` in a script, CI) inherits SIGINT as *ignored*.
``dagster dev`` maps SIGTERM to whatever SIGINT does, so it then ignores both and can
only be killed. Restoring the default SIGINT and SIGTERM before ``exec`` (an ignored
signal stays ignored across ``exec``; a default one lets Python install its
KeyboardInterrupt handler) makes Ctrl-C and SIGTERM stop it cleanly again.
"""

from __future__ import annotations

import os
import signal
import sys

from orchestration.instance import ensure_dagster_home

CODE_LOCATION = "orchestration.defs.definitions"


def dagster_dev_command(options: list[str]) -> list[str]:
    """The ``dagster dev`` command line, run with this Python (no PATH lookup)."""
    return [sys.executable, "-m", "dagster", "dev", "-m", CODE_LOCATION, *options]


def main(argv: list[str] | None = None) -> None:
    ensure_dagster_home()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, signal.SIG_DFL)
    command = dagster_dev_command(sys.argv[1:] if argv is None else argv)
    os.execv(command[0], command)


if __name__ == "__main__":
    main()
