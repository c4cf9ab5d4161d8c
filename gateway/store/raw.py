"""The relay's hot Core statements run on the driver's cursor: compiled once per dialect by SQLAlchemy, bound and read back here.

A Core `execute` costs 110-160 µs of Python per statement here (cache key, execution context,
result object), against 4-8 µs for the statement itself on the SQLite cursor, and a relayed
message runs about twenty. `Raw` keeps what SQLAlchemy would do with the values: the SQL is
SQLAlchemy's own compilation for the connection's dialect, and every value goes through the
type's own bind and result processors (SQLite's datetimes as text, booleans as integers), so
rows written and read here are the rows the ORM writes and reads. Errors are wrapped as
SQLAlchemy's (`IntegrityError`, `OperationalError`), and a connection the driver reports lost
is invalidated as SQLAlchemy does. What the fast path does not cover (an empty IN list, a
Python-side default, a value computed at execution) runs through SQLAlchemy instead.
"""

from __future__ import annotations

import collections
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import LargeBinary
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql.base import Executable
from sqlalchemy.sql.compiler import SQLCompiler

from gateway.store.db import Executes, connection_of

_EXPANDING = re.compile(r"\(__\[POSTCOMPILE_(\w+)\]\)")
_NAMED = re.compile(r"%\((\w+)\)s")
Params = Mapping[str, Any]


class Raw:
    """One Core statement (a select, an update or delete, an insert with fixed columns)."""

    def __init__(self, statement: Executable) -> None:
        self.statement = statement
        self._plans: dict[tuple[str, tuple[str, ...]], _Plan | None] = {}

    def rows(self, where: Executes, params: Params | None = None) -> list[Any]:
        """The statement's rows (named tuples, columns by their keys); [] for a plain DML."""
        connection = connection_of(where)
        values = params or {}
        plan = self._plan(connection.dialect, values)
        bound = plan.bind(values) if plan is not None else None
        if plan is None or bound is None:
            result = connection.execute(self.statement, dict(values))
            return list(result.all()) if result.returns_rows else []
        sql, args = bound
        cursor = _run(connection, sql, args, many=False, keep=plan.keep_cursor)
        if cursor.description is None:
            return []
        return plan.read(cursor.fetchall())

    def many(self, where: Executes, rows: Sequence[Params]) -> None:
        """The statement once per row of values (executemany), its result not read."""
        if not rows:
            return
        connection = connection_of(where)
        plan = self._plan(connection.dialect, rows[0])
        if len(rows) > 1 and _is_insert(self.statement) and connection.dialect.name != "sqlite":
            plan = None  # SQLAlchemy sends one multi-row INSERT: the server parses it once
        bound = [plan.bind(row) for row in rows] if plan is not None and not plan.expanding \
            else [None]
        done = [b for b in bound if b is not None]
        if plan is None or len(done) < len(rows):
            connection.execute(self.statement, [dict(row) for row in rows])
            return
        if len(done) == 1:  # psycopg's executemany enters pipeline mode: costly for one row
            _run(connection, done[0][0], done[0][1], many=False, keep=plan.keep_cursor)
            return
        _run(connection, done[0][0], [args for _sql, args in done], many=True,
             keep=plan.keep_cursor)

    def _plan(self, dialect: Dialect, params: Params) -> _Plan | None:
        key = (dialect.name, tuple(params) if _is_insert(self.statement) else ())
        if key not in self._plans:
            self._plans[key] = _Plan.make(self.statement, dialect, key[1])
        return self._plans[key]


def _is_insert(statement: Executable) -> bool:
    return getattr(statement, "is_insert", False)


def _cursor(connection: Connection) -> tuple[Any, Any]:
    """(driver connection, a cursor kept with it). psycopg finds each parameter type's dumper
    once per cursor, and a new cursor for every statement paid for that each time: an insert
    through `Raw` took 71 µs of client CPU, 56 on the kept cursor (best of six runs; a message
    runs about seventeen statements on PostgreSQL)."""
    proxied = connection.connection
    driver = proxied.driver_connection
    assert driver is not None
    kept = proxied.info.get("raw cursor")
    if kept is None or kept[0] is not driver:  # a new driver connection has its own
        kept = proxied.info["raw cursor"] = (driver, driver.cursor())
    return kept


def _run(connection: Connection, sql: str, args: Any, *, many: bool, keep: bool) -> Any:
    if keep:
        dbapi_connection, cursor = _cursor(connection)
    else:
        dbapi_connection = connection.connection.driver_connection
        assert dbapi_connection is not None
        cursor = dbapi_connection.cursor()
    try:
        if many:
            cursor.executemany(sql, args)
        else:
            cursor.execute(sql, args)
    except connection.dialect.loaded_dbapi.Error as error:
        invalidated = connection.dialect.is_disconnect(error, dbapi_connection, cursor)
        if invalidated:
            connection.invalidate(error)
        raise DBAPIError.instance(sql, args, error, connection.dialect.loaded_dbapi.Error,
                                  connection_invalidated=invalidated,
                                  dialect=connection.dialect) from error
    return cursor


class _Plan:
    """The statement compiled for one dialect, with what binding and reading need."""

    def __init__(self, compiled: SQLCompiler, dialect: Dialect) -> None:
        self.sql = compiled.string
        self.positional = dialect.paramstyle == "qmark"
        used = list(compiled.positiontup or ()) if self.positional else \
            _NAMED.findall(self.sql) + _EXPANDING.findall(self.sql)
        self.order = tuple(used)  # qmark: the placeholders' names in order
        binds = {name: compiled.binds[name] for name in dict.fromkeys(used)}
        self.defaults = {name: bind.value for name, bind in binds.items() if not bind.required}
        self.required = frozenset(name for name, bind in binds.items() if bind.required)
        self.processors: dict[str, Callable[[Any], Any]] = {
            name: processor for name, bind in binds.items()
            if (processor := bind.type._cached_bind_processor(dialect)) is not None}
        self.expanding = frozenset(name for name, bind in binds.items() if bind.expanding)
        self._by_lengths: dict[tuple[int, ...], str] = {}
        columns = compiled._result_columns  # (key, name, objects, type) per result column
        self.row: Any = collections.namedtuple(  # type: ignore[misc]
            "Row", [c.keyname for c in columns], rename=True)
        self.results = [c.type._cached_result_processor(dialect, None) for c in columns]
        # A statement that writes or reads message bodies (up to the size limit) runs on a
        # cursor of its own, dropped after it: a kept cursor holds its last parameters and
        # result until the connection's next statement, idle or not.
        self.keep_cursor = not any(isinstance(type_, LargeBinary) for type_ in
                                   [bind.type for bind in binds.values()] + [c.type for c in columns])

    @classmethod
    def make(cls, statement: Executable, dialect: Dialect,
             column_keys: tuple[str, ...]) -> _Plan | None:
        compiled = statement.compile(dialect=dialect,  # type: ignore[attr-defined]
                                     column_keys=list(column_keys) or None)
        if not isinstance(compiled, SQLCompiler) or any(
                bind.callable is not None for bind in compiled.binds.values()):
            return None
        if compiled.insert_prefetch or compiled.update_prefetch:  # Python-side defaults
            return None
        return cls(compiled, dialect)

    def bind(self, params: Params) -> tuple[str, Any] | None:
        """The SQL and the driver's arguments for `params`, or None: run it through SQLAlchemy."""
        if not self.required <= params.keys():
            return None
        values = {**self.defaults, **params}
        for name, process in self.processors.items():
            value = values[name]
            if name in self.expanding:
                values[name] = [process(item) for item in value]
            elif value is not None:
                values[name] = process(value)
        sql = self.sql
        if self.expanding:
            lengths = tuple(len(values[name]) for name in sorted(self.expanding))
            if 0 in lengths:
                return None  # SQLAlchemy renders an empty IN as a set that matches nothing
            sql = self._by_lengths.get(lengths) or self._expand(lengths)
            if not self.positional:
                for name in self.expanding:
                    values.update((f"{name}__{n}", item) for n, item in enumerate(values[name]))
        if not self.positional:
            return sql, values
        args: list[Any] = []
        for name in self.order:
            if name in self.expanding:
                args.extend(values[name])
            else:
                args.append(values[name])
        return sql, args

    def _expand(self, lengths: tuple[int, ...]) -> str:
        length_of = dict(zip(sorted(self.expanding), lengths, strict=True))

        def placeholders(match: re.Match[str]) -> str:
            name = match.group(1)
            marks = ["?"] * length_of[name] if self.positional else \
                [f"%({name}__{n})s" for n in range(length_of[name])]
            return f"({', '.join(marks)})"

        sql = self._by_lengths[lengths] = _EXPANDING.sub(placeholders, self.sql)
        return sql

    def read(self, rows: list[Any]) -> list[Any]:
        make, processors = self.row._make, self.results
        if not any(processors):
            return [make(row) for row in rows]
        return [make([value if process is None or value is None else process(value)
                      for process, value in zip(processors, row, strict=True)])
                for row in rows]


def insert_returning_ids(where: Executes, many: Executable, one: Raw,
                         rows: Sequence[Params]) -> list[int]:
    """The ids of rows inserted, in their order. On SQLite one raw insert per row (each costs
    less than SQLAlchemy's multi-row statement takes to build); elsewhere `many` (an insert
    returning ids sorted by parameter order): one round trip to the server, not one per row.
    A single row is always the raw insert (at a low rate every batch is one message)."""
    if not rows:
        return []
    connection = connection_of(where)
    if connection.dialect.name == "sqlite" or len(rows) == 1:
        return [one.rows(connection, row)[0][0] for row in rows]
    return list(connection.execute(many, [dict(row) for row in rows]).scalars().all())
