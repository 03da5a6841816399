"""Readers and writers of one DuckDB file wait for each other instead of failing."""

import threading
import time
from datetime import date
from pathlib import Path

import duckdb
import pytest

from orchestration import warehouse as wh
from orchestration.exports.errors import ExportError
from orchestration.exports.reader import DuckDBReportSource
from orchestration.locks import WarehouseBusyError, reader_lock, writer_lock


@pytest.fixture
def warehouse(tmp_path: Path) -> Path:
    path = tmp_path / "wh.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("create table main.t as select 1 as x")
    return path


def _after(seconds: float, action) -> threading.Thread:
    thread = threading.Thread(target=lambda: (time.sleep(seconds), action()))
    thread.start()
    return thread


def test_reader_waits_for_the_writer_then_reads(warehouse):
    released = threading.Event()
    with writer_lock(warehouse):
        con = wh.connect(warehouse)
        con.execute("insert into main.t values (2)")
        finished = []

        def read():
            with wh.reading(warehouse, wait_seconds=10) as reader:
                finished.append(released.is_set())
                finished.append(reader.execute("select count(*) from main.t").fetchone()[0])

        thread = _after(0, read)
        time.sleep(0.5)
        assert not finished, "the reader must wait while the writer holds the lock"
        con.close()
        released.set()
    thread.join(10)
    assert finished == [True, 2]


def test_readers_share_the_lock_and_a_writer_waits_for_them(warehouse):
    with wh.reading(warehouse) as first, wh.reading(warehouse, wait_seconds=0) as second:
        assert first.execute("select 1").fetchone() == second.execute("select 1").fetchone()
        busy = pytest.raises(WarehouseBusyError, match="wait for it to finish")
        with busy, writer_lock(warehouse, wait_seconds=0.3):
            pass
    with writer_lock(warehouse, wait_seconds=0):
        pass


def test_report_reader_gives_up_clearly_when_a_writer_never_finishes(warehouse, monkeypatch):
    monkeypatch.setattr(
        "orchestration.exports.reader.reader_lock",
        lambda path: reader_lock(path, wait_seconds=0.3),
    )
    with writer_lock(warehouse), pytest.raises(ExportError, match="being written by a refresh"):
        DuckDBReportSource(warehouse)
    with DuckDBReportSource(warehouse) as source:
        assert source is not None


def test_release_marks_the_checked_as_of_date(tmp_path):
    warehouse = tmp_path / "wh.duckdb"
    with pytest.raises(wh.UncheckedReportsError, match="no checked reports"):
        wh.released_as_of(warehouse)
    wh.release(warehouse, date(2026, 3, 2), "run-1")
    assert wh.released_as_of(warehouse) == date(2026, 3, 2)
    assert wh.released_as_of(warehouse, date(2026, 3, 2)) == date(2026, 3, 2)
    with pytest.raises(wh.UncheckedReportsError, match="refresh --as-of 2026-03-01"):
        wh.released_as_of(warehouse, date(2026, 3, 1))
    wh.withdraw_release(warehouse)
    with pytest.raises(wh.UncheckedReportsError):
        wh.released_as_of(warehouse)


def test_a_waiting_writer_goes_before_readers_that_arrive_after_it(warehouse):
    """Readers arriving one after the other must not keep a writer waiting for ever."""
    events: list[str] = []

    def write():
        with writer_lock(warehouse, wait_seconds=10):
            events.append("writer in")
            time.sleep(0.3)
            events.append("writer out")

    def read():
        with reader_lock(warehouse, wait_seconds=10):
            events.append("late reader in")

    with reader_lock(warehouse):
        writer = _after(0, write)
        time.sleep(0.3)  # the writer waits for this reader
        reader = _after(0, read)
        time.sleep(0.3)
        assert events == []  # the late reader queues behind the waiting writer
    writer.join(5)
    reader.join(5)
    assert events == ["writer in", "writer out", "late reader in"]
