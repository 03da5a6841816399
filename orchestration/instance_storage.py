"""The local instance's storage: Dagster's SQLite storage, its event log keeping engines open.

Dagster's SQLite event log creates a SQLAlchemy engine, opens a SQLite connection and
throws both away for every read and write (per-run database files, plus an index file).
A small refresh stores about 820 events over some 4,500 connections: 8 s of its 20 s.
:class:`PooledSqliteEventLogStorage` keeps one engine, with its pooled connection, for each
of the shards used last; everything else (files, schema, WAL mode, locking) is Dagster's.
``orchestration/dagster.yaml`` selects :class:`PooledSqliteStorage`, which lays its files
out as the default storage does, so an instance made before reads the same history.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as db
from dagster._core.storage.event_log.sqlite.sqlite_event_log import (
    SQLITE_BUSY_TIMEOUT_SECONDS,
    SqliteEventLogStorage,
)
from dagster._core.storage.sqlite_storage import DagsterSqliteStorage
from dagster._serdes import ConfigurableClassData

# Engines kept open: the index shard and the runs used last. Each holds one SQLite
# connection, so a long-lived webserver that reads many runs keeps a bounded number of files open.
KEPT_SHARD_ENGINES = 8


class PooledSqliteEventLogStorage(SqliteEventLogStorage):
    """Dagster's SQLite event log with an engine (and its pooled connection) kept per shard,
    for the :data:`KEPT_SHARD_ENGINES` shards used last."""

    def __init__(self, base_dir: str, inst_data: ConfigurableClassData | None = None):
        # Dagster's constructor may already connect (it indexes a new instance's events).
        self._engines: OrderedDict[str, db.Engine] = OrderedDict()
        super().__init__(base_dir, inst_data)

    def _engine(self, shard: str) -> db.Engine:
        """The shard's engine, made on first use; the least recently used one beyond the
        limit is disposed (a connection of it still in use closes when it is given back)."""
        engine = self._engines.pop(shard, None)
        if engine is None:
            engine = db.create_engine(
                self.conn_string_for_shard(shard),
                connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS},
            )
        self._engines[shard] = engine
        while len(self._engines) > KEPT_SHARD_ENGINES:
            self._engines.popitem(last=False)[1].dispose()
        return engine

    @contextmanager
    def _connect(self, shard: str) -> Iterator[db.Connection]:
        """As Dagster's: one transaction on the shard (created on first use), under the lock."""
        with self._db_lock:
            engine = self._engine(shard)
            if shard not in self._initialized_dbs:
                self._initdb(engine)
                self._initialized_dbs.add(shard)
            with engine.connect() as conn, conn.begin():
                yield conn

    def dispose(self) -> None:
        super().dispose()
        with self._db_lock:
            while self._engines:
                self._engines.popitem()[1].dispose()


class PooledSqliteStorage(DagsterSqliteStorage):
    """Dagster's default SQLite storage (same files under ``base_dir``), but for the event log:
    :class:`PooledSqliteEventLogStorage`."""

    def __init__(self, base_dir: str, inst_data: ConfigurableClassData | None = None):
        super().__init__(base_dir, inst_data)
        self._event_log_storage.dispose()
        self._event_log_storage = PooledSqliteEventLogStorage(
            os.path.join(base_dir, "history", "runs", "")
        )

    @classmethod
    def from_config_value(  # type: ignore[override]
        cls, inst_data: ConfigurableClassData | None, config_value: dict
    ) -> PooledSqliteStorage:
        return cls.from_local(inst_data=inst_data, **config_value)
