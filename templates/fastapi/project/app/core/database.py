"""The declarative base every model derives from, and the async engine and session factory."""

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, Dialect, MetaData, TypeDecorator, event
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase

# Named constraints give Alembic stable names it can later alter or drop on every database.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware timestamp on every database, stored in UTC.

    SQLite keeps no time zone, so values read back from it are marked UTC (which they are:
    CURRENT_TIMESTAMP is UTC), and the API never returns a timestamp without an offset.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime: give a time zone (for example datetime.now(UTC))")
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def create_engine(url: str, timeout: float = 5, statement_timeout: float = 10) -> AsyncEngine:
    """The engine, with every wait bounded: connecting (`timeout`), waiting for a pooled
    connection (`timeout`), one statement (`statement_timeout`, enforced by the client, so a
    server that stops answering mid-query is noticed too); SQLite waits `timeout` for a lock."""
    if url.startswith("sqlite"):
        engine = create_async_engine(url, connect_args={"timeout": timeout})
        event.listen(engine.sync_engine, "connect", enforce_foreign_keys)
        return engine
    # A server may close connections that sat idle in the pool; pre_ping replaces them first.
    # A SQLite file never does, and the ping would cost a round trip per request.
    return create_async_engine(
        url,
        pool_pre_ping=True,
        pool_timeout=timeout,
        connect_args={"timeout": timeout, "command_timeout": statement_timeout or None},
    )


def enforce_foreign_keys(connection: Any, _record: Any) -> None:
    """SQLite checks foreign keys (and applies ON DELETE) only when each connection asks."""
    cursor = connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    # Objects stay readable after commit, so a handler can return what it just saved.
    return async_sessionmaker(engine, expire_on_commit=False)
