"""Running one benchmark task in its own process: wall time, CPU time and peak memory.

The task runs as ``python -m bench.worker <task> <json arguments>`` and prints its result
as JSON on its last stdout line. While it runs, the resident memory of its whole process
tree (the worker, dbt, export workers) and its CPU time are sampled from ``/proc``; the
samples give a stage found inside the run (by its start and end times) its own peak and CPU
seconds. CPU seconds make the ratios between stages robust to other load on the machine.
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

SAMPLE_SECONDS = 0.2
_PAGE = os.sysconf("SC_PAGE_SIZE")
_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class TaskRun:
    """A finished task: its JSON result, wall seconds and samples (epoch, bytes, CPU seconds)."""

    result: dict
    seconds: float
    samples: list[tuple[float, int, float]] = field(repr=False)

    @property
    def peak_rss_mb(self) -> float:
        return peak_mb(self.samples)

    @property
    def cpu_seconds(self) -> float:
        return self.cpu_seconds_between(self.samples[0][0], self.samples[-1][0])

    def peak_rss_mb_between(self, start: float, end: float) -> float:
        """Peak tree memory sampled between two epoch times (the stage's own peak)."""
        inside = [s for s in self.samples if start <= s[0] <= end]
        return peak_mb(inside or self.samples)

    def cpu_seconds_between(self, start: float, end: float) -> float:
        """CPU seconds the process tree used between two epoch times (sampled)."""
        before = [cpu for t, _, cpu in self.samples if t <= start] or [self.samples[0][2]]
        until = [cpu for t, _, cpu in self.samples if t <= end] or [self.samples[0][2]]
        return round(until[-1] - before[-1], 2)


def peak_mb(samples: list[tuple[float, int, float]]) -> float:
    return round(max((rss for _, rss, _ in samples), default=0) / 2**20, 1)


def _processes() -> dict[int, tuple[int, int]]:
    """pid -> (parent pid, CPU ticks of the process and of its reaped children)."""
    found = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as handle:
                stat = handle.read()
        except OSError:
            continue
        fields = stat[stat.rindex(b")") + 2 :].split()
        found[int(entry.name)] = (int(fields[1]), sum(int(f) for f in fields[11:15]))
    return found


def tree_usage(root: int) -> tuple[int, float]:
    """Resident bytes and CPU seconds of ``root`` and all its descendants."""
    processes = _processes()
    children: dict[int, list[int]] = {}
    for pid, (parent, _) in processes.items():
        children.setdefault(parent, []).append(pid)
    rss, ticks, todo = 0, 0, [root]
    while todo:
        pid = todo.pop()
        todo.extend(children.get(pid, []))
        ticks += processes.get(pid, (0, 0))[1]
        try:
            with open(f"/proc/{pid}/statm", "rb") as handle:
                rss += int(handle.read().split()[1]) * _PAGE
        except OSError:
            continue
    return rss, ticks / _TICKS


def run_task(task: str, env: dict[str, str] | None = None, **arguments: object) -> TaskRun:
    """Run ``bench.worker`` task ``task`` with ``arguments``; raise with its stderr on failure."""
    command = [sys.executable, "-m", "bench.worker", task, json.dumps(arguments, default=str)]
    samples: list[tuple[float, int, float]] = []
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
            rss, cpu = tree_usage(process.pid)
            if rss:  # zero once the task has exited
                samples.append((time.time(), rss, cpu))
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
