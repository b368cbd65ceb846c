"""The two databases the hub runs on, as the few things that differ between them; all SQL is written once.

Statements are written with `?` placeholders and portable SQL (ON CONFLICT, RETURNING); a dialect translates the
placeholders, names its row lock and its auto-numbered key, and says which errors mean "run the transaction again".
SQLite serialises writers itself (BEGIN IMMEDIATE), so it needs no row locks; PostgreSQL runs in READ COMMITTED and
the store takes row locks (SELECT ... FOR UPDATE) in one order, so several hub workers can write at once.
"""
from __future__ import annotations

import itertools
import re
import sqlite3
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterator, Sequence, TypeVar
from urllib.parse import urlsplit

from core.errors import InvalidInput

Params = Sequence[Any]
T = TypeVar("T")
CHUNK = 500  # keys per IN (...) list: well under either database's parameter limit


def chunks(items: Sequence[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    """`items` in slices of at most `size`."""
    for i in range(0, len(items), size):
        yield items[i:i + size]


def marks(n: int) -> str:
    """`?, ?, ...` for an IN list of n values."""
    return ", ".join("?" * n)


class BadDatabaseUrl(InvalidInput):
    """A hub database URL that names no database we can open."""


class Tx:
    """One open transaction: run statements, fetch rows. `lock` is the row-lock clause of this database."""

    def __init__(self, cursor: Any, dialect: Dialect) -> None:
        self._cur = cursor
        self._sql = dialect.sql
        self.lock = dialect.lock

    def rows(self, sql: str, params: Params = ()) -> list[tuple]:
        """Every row a statement returns."""
        self._cur.execute(self._sql(sql), params)
        return self._cur.fetchall()

    def one(self, sql: str, params: Params = ()) -> tuple | None:
        """The first row a statement returns, or None."""
        self._cur.execute(self._sql(sql), params)
        return self._cur.fetchone()

    def run(self, sql: str, params: Params = ()) -> None:
        """Run a statement that returns nothing."""
        self._cur.execute(self._sql(sql), params)

    def execute(self, sql: str, params: Params = ()) -> Any:
        """Run a statement and return the DB-API cursor to fetch its rows from (for DB-API code: mqtt.hub.facts)."""
        self._cur.execute(self._sql(sql), params)
        return self._cur

    def insert(self, head: str, rows: Sequence[Params], tail: str = "") -> list[tuple]:
        """`head VALUES (...), (...) tail` over the rows, a few hundred a statement: one round trip per
        statement, not per row. Returns what `tail`'s RETURNING gives, if it has one."""
        found: list[tuple] = []
        if not rows:
            return found
        width = len(rows[0])
        group = f"({', '.join('?' * width)})"
        for part in chunks(rows, max(1, 4000 // width)):
            self._cur.execute(self._sql(f"{head} VALUES {', '.join([group] * len(part))} {tail}"),
                              [v for row in part for v in row])
            if self._cur.description is not None:  # the statement returns rows
                found += self._cur.fetchall()
        return found

    def many(self, sql: str, rows: Sequence[Params]) -> None:
        """Run a statement once per row of parameters (pipelined on PostgreSQL)."""
        if rows:
            self._cur.executemany(self._sql(sql), rows)


class Dialect:
    """What differs between the databases: connecting, transactions, placeholders, locks, retryable errors."""

    serial = ""  # the type of an auto-numbered primary key
    lock = ""  # appended to a SELECT that must lock the rows it reads
    schema_lock = ""  # taken before creating tables, so two workers starting at once do not race
    retryable: tuple[type[BaseException], ...] = ()

    def sql(self, statement: str) -> str:
        """The statement in this database's placeholder style."""
        return statement

    @contextmanager
    def transaction(self, write: bool = True) -> Iterator[Tx]:
        """A transaction that commits when the block ends and rolls back when it raises."""
        raise NotImplementedError

    def close(self) -> None:
        """Close the connection."""
        raise NotImplementedError


class Sqlite(Dialect):
    """The embedded default: one file, WAL, synchronous=FULL, writers serialised by BEGIN IMMEDIATE."""

    serial = "INTEGER PRIMARY KEY"  # writers wait for each other (busy timeout), so nothing needs a retry

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        # used by one thread at a time, not always the one that opened it (a worker pool hands stores out)
        self.conn = sqlite3.connect(path, isolation_level=None, timeout=30, check_same_thread=False)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=FULL")

    @contextmanager
    def transaction(self, write: bool = True) -> Iterator[Tx]:
        cur = self.conn.cursor()
        cur.execute("BEGIN IMMEDIATE" if write else "BEGIN")  # a writer takes the lock first: no upgrade deadlock
        try:
            yield Tx(cur, self)
            cur.execute("COMMIT")
        except BaseException:
            if self.conn.in_transaction:
                self.conn.rollback()
            raise

    def close(self) -> None:
        self.conn.close()


class Postgres(Dialect):
    """A chain's server (psycopg 3): READ COMMITTED with row locks; deadlocks and clashing inserts are retried."""

    serial = "BIGSERIAL PRIMARY KEY"
    lock = " FOR UPDATE"
    schema_lock = "SELECT pg_advisory_xact_lock(20261110)"

    def __init__(self, url: str) -> None:
        try:
            import psycopg  # imported here: only a hub on PostgreSQL needs it
        except ImportError:
            raise BadDatabaseUrl("PostgreSQL needs psycopg: pip install 'memberkiosk[hub]'") from None
        self.retryable = (psycopg.errors.DeadlockDetected, psycopg.errors.SerializationFailure)
        try:
            # RawCursor takes $1-style parameters as they are: psycopg parses no %s in our long multi-row inserts
            self.conn = psycopg.connect(url, autocommit=True, cursor_factory=psycopg.RawCursor)
        except psycopg.OperationalError as e:
            raise BadDatabaseUrl(f"cannot connect to the hub database {_redacted(url)}: {e}") from None

    def sql(self, statement: str) -> str:
        return _numbered(statement)

    @contextmanager
    def transaction(self, write: bool = True) -> Iterator[Tx]:
        with self.conn.transaction(), self.conn.cursor() as cur:
            yield Tx(cur, self)

    def close(self) -> None:
        self.conn.close()


def connect(url: str) -> Dialect:
    """The database a URL names: sqlite:///PATH (sqlite:////abs/path) or postgresql://..."""
    scheme = urlsplit(url).scheme
    if scheme == "sqlite":
        path = url.removeprefix("sqlite://").removeprefix("/")  # sqlite:///hub.db is relative, sqlite:////abs/hub.db
        if not path:
            raise BadDatabaseUrl(f"{url}: name the database file, e.g. sqlite:////var/lib/memberkiosk/hub.db")
        return Sqlite(Path(path))
    if scheme in ("postgresql", "postgres"):
        return Postgres(url)
    raise BadDatabaseUrl(f"{_redacted(url)}: the hub database URL must start with sqlite:/// or postgresql://")


@lru_cache(maxsize=512)
def _numbered(statement: str) -> str:
    """`?` placeholders as PostgreSQL's $1, $2, ...; our statements hold no literal question marks."""
    count = itertools.count(1)
    return re.sub(r"\?", lambda _m: f"${next(count)}", statement)


def _redacted(url: str) -> str:
    """The URL without its password, for messages and logs."""
    parts = urlsplit(url)
    return url.replace(f":{parts.password}@", ":***@") if parts.password else url
