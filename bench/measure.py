"""Running one benchmark task in its own process: wall time and peak memory.

The task runs as ``python -m bench.worker <task> <json arguments>`` and prints its result
as JSON on its last stdout line. While it runs, the resident memory of its whole process
tree (the worker, dbt, export workers) is sampled from ``/proc``; the samples let a stage
found inside the run (by its start and end times) get its own peak.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

SAMPLE_SECONDS = 0.1
_PAGE = os.sysconf("SC_PAGE_SIZE")


@dataclass
class TaskRun:
    """A finished task: its JSON result, wall seconds and memory samples (epoch, bytes)."""

    result: dict
    seconds: float
    samples: list[tuple[float, int]] = field(repr=False)

    @property
    def peak_rss_mb(self) -> float:
        return peak_mb(self.samples)

    def peak_rss_mb_between(self, start: float, end: float) -> float:
        """Peak tree memory sampled between two epoch times (the stage's own peak)."""
        inside = [s for s in self.samples if start <= s[0] <= end]
        return peak_mb(inside or self.samples)


def peak_mb(samples: list[tuple[float, int]]) -> float:
    return round(max((rss for _, rss in samples), default=0) / 2**20, 1)


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as handle:
                stat = handle.read()
        except OSError:
            continue
        parent = int(stat[stat.rindex(b")") + 2 :].split()[1])
        tree.setdefault(parent, []).append(int(entry.name))
    return tree


def tree_rss(root: int) -> int:
    """Resident bytes of ``root`` and all its descendants."""
    tree = _children()
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        todo.extend(tree.get(pid, []))
        try:
            with open(f"/proc/{pid}/statm", "rb") as handle:
                total += int(handle.read().split()[1]) * _PAGE
        except OSError:
            continue
    return total


def run_task(task: str, env: dict[str, str] | None = None, **arguments: object) -> TaskRun:
    """Run ``bench.worker`` task ``task`` with ``arguments``; raise with its stderr on failure."""
    command = [sys.executable, "-m", "bench.worker", task, json.dumps(arguments, default=str)]
    samples: list[tuple[float, int]] = []
    start = time.perf_counter()
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
        cwd=Path(__file__).resolve().parent.parent,
    )
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            samples.append((time.time(), tree_rss(process.pid)))
            done.wait(SAMPLE_SECONDS)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    stdout, stderr = process.communicate()
    seconds = time.perf_counter() - start
    done.set()
    sampler.join()
    if process.returncode != 0:
        raise RuntimeError(f"bench task {task} failed ({process.returncode}):\n{stderr[-4000:]}")
    return TaskRun(json.loads(stdout.strip().splitlines()[-1]), seconds, samples)


def disk_mb(path: Path) -> float:
    """Size on disk of a file (with its DuckDB write-ahead log) or of a folder tree."""
    path = Path(path)
    if path.is_dir():
        files = [p for p in path.rglob("*") if p.is_file()]
    else:
        files = [p for p in (path, path.with_name(path.name + ".wal")) if p.is_file()]
    return round(sum(p.stat().st_size for p in files) / 2**20, 1)
