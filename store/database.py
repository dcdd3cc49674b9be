"""The database engine and transactions over SQLite (aiosqlite) or PostgreSQL (asyncpg)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from settings import mask_url_password


class DatabaseUnavailable(RuntimeError):
    """The database cannot be reached; the message is one line, fit for a terminal."""


class Database:
    """One engine and the two ways we use it: short reads and write transactions.

    On SQLite a write transaction starts with ``BEGIN IMMEDIATE`` so that two writers
    queue on the busy timeout instead of failing on a read-to-write lock upgrade. Writers of one
    process also queue on a lock of their own first: SQLite's busy handler sleeps in growing steps,
    so a crowd of writers polling it waits far longer than a queue (a burst of WeChat callbacks took
    seconds to get through without it). Write transactions must therefore never nest.
    """

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = url
        self.is_sqlite = make_url(url).get_backend_name() == "sqlite"
        if self.is_sqlite:
            database = make_url(url).database
            if database and database != ":memory:":
                Path(database).parent.mkdir(parents=True, exist_ok=True)
            self.engine: AsyncEngine = create_async_engine(
                url, echo=echo, connect_args={"timeout": 30}
            )
            self._install_sqlite_pragmas()
            self._writers: asyncio.Lock | None = asyncio.Lock()
        else:
            self._writers = None
            self.engine = create_async_engine(url, echo=echo, pool_pre_ping=True, pool_size=10)

    def _install_sqlite_pragmas(self) -> None:
        sync_engine = self.engine.sync_engine

        @event.listens_for(sync_engine, "connect")
        def _on_connect(dbapi_connection, _record):  # type: ignore[no-untyped-def]
            # let SQLAlchemy, not the driver, decide when a transaction begins
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        @event.listens_for(sync_engine, "begin")
        def _on_begin(conn):  # type: ignore[no-untyped-def]
            immediate = conn.get_execution_options().get("ryb_write", False)
            conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    @property
    def display_url(self) -> str:
        return mask_url_password(self.url)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncConnection]:
        """A write transaction: committed when the block ends, rolled back on error."""
        async with self._writers or contextlib.nullcontext():
            async with self.engine.connect() as conn:
                await conn.execution_options(ryb_write=True)
                async with conn.begin():
                    yield conn

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        async with self.engine.connect() as conn:
            yield conn

    async def check(self) -> None:
        """Raise ``DatabaseUnavailable`` with a one-line reason if the database cannot be used."""
        try:
            async with self.engine.connect() as conn:
                await conn.execute(sa.text("SELECT 1"))
        except Exception as exc:  # every driver raises its own types; we only need the reason
            reason = " ".join(str(exc).split()) or type(exc).__name__
            raise DatabaseUnavailable(f"cannot reach database {self.display_url}: {reason[:300]}") from exc

    async def dispose(self) -> None:
        await self.engine.dispose()
