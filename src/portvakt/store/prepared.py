"""Core statements run on the DBAPI cursor of a session's connection, compiled once per dialect.

``Session.execute`` spends 30-40 µs of Python on every statement (cache key, execution
context, result metadata, ``Row`` objects) where the DBAPI cursor needs about 8 µs for the
same indexed statement; a code check runs a few of them in the SQLite writer thread, where
every microsecond is paid by the whole batch (bench/README.md, "validate.py"). ``Prepared``
keeps the statement defined once, as Core, and skips only that per-call machinery: the SQL
string is compiled once per dialect, and SQLAlchemy's own bind and result processors (those
of the column types, TypeDecorators included) are applied, so the values written and read
are those Core would write and read. Errors are handed to the connection as Core hands them
(wrapped as ``StatementError`` or ``DBAPIError``, the connection invalidated on a disconnect).

What Core would do per call and this does not is refused when the statement is compiled:
expanding (``IN``) and literal-execute parameters, Python-side column defaults (give every
column a value), implicit ``RETURNING`` (use ``.inline()`` or ``.returning()``) and
parameters whose value is computed per call (``callable_``). Not run either: engine events
(``before_cursor_execute``, ``echo`` logging) and the statement's execution options.

Relies on SQLAlchemy internals that are stable across 2.0 and 2.1:
``SQLCompiler._bind_processors``, ``SQLCompiler._result_columns``,
``TypeEngine._cached_result_processor`` and ``Connection._handle_dbapi_exception``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from sqlalchemy.engine import Dialect
from sqlalchemy.engine.interfaces import DBAPICursor
from sqlalchemy.exc import ArgumentError, InvalidRequestError
from sqlalchemy.orm import Session
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ClauseElement
from sqlalchemy.sql.expression import Executable

T = TypeVar("T")
Processor = Callable[[Any], Any]
Row = tuple[Any, ...]
# a DBAPI parameter: its name in the SQL, the caller's key (None: the statement's own value),
# the bind processor, the statement's own value
_Slot = tuple[str, str | None, Processor | None, Any]


class Prepared:
    """A Core statement compiled once per dialect, run on the DBAPI cursor of the session's
    connection, inside the session's transaction. Rows are plain tuples, in the order of
    ``columns`` (``index`` gives a column's position by its key, as ``Row`` would name it).

    Parameters are taken by their ``bindparam`` names; parameters that were given a value
    when the statement was built (the literals Core binds, as in ``state == 'active'``) keep
    that value."""

    def __init__(self, statement: Executable) -> None:
        self.statement = statement
        compiled = _compile(statement, None)  # refused now rather than at its first run
        _refuse_per_call_work(compiled)
        self.columns = _result_keys(compiled)
        self.index: Mapping[str, int] = {name: at for at, name in enumerate(self.columns)}
        self._compiled: dict[str, _Compiled] = {}

    def rows(self, session: Session, params: Mapping[str, Any]) -> list[Row]:
        """Every row the statement returns, its values as Core would return them."""
        return self._run(session, params, _Compiled.fetch_all)

    def first(self, session: Session, params: Mapping[str, Any]) -> Row | None:
        """The first row, or None; the others are not fetched."""
        return self._run(session, params, _Compiled.fetch_one)

    def scalar(self, session: Session, params: Mapping[str, Any]) -> Any:
        """The first column of the first row, or None when there is no row."""
        row = self.first(session, params)
        return None if row is None else row[0]

    def execute(self, session: Session, params: Mapping[str, Any]) -> int:
        """Run a statement that returns no rows; the number of rows it matched (the DBAPI's
        ``rowcount``, as ``CursorResult.rowcount``)."""
        if self.columns:
            raise ArgumentError("this statement returns rows: use rows(), first() or scalar()")
        return self._run(session, params, _rowcount)

    def _run(
        self,
        session: Session,
        params: Mapping[str, Any],
        fetch: Callable[[_Compiled, DBAPICursor], T],
    ) -> T:
        connection = session.connection({"clause": self.statement})
        compiled = self._for(connection.dialect)
        cursor = None
        try:
            cursor = connection.connection.cursor()
            cursor.execute(compiled.sql, compiled.bind(params))
            result = fetch(compiled, cursor)
            cursor.close()
            return result
        except BaseException as exc:  # as Core: wrapped, and a lost connection invalidated
            connection._handle_dbapi_exception(exc, compiled.sql, params, cursor, None)

    def _for(self, dialect: Dialect) -> _Compiled:
        """The statement compiled for this dialect. Compiled again only for another dialect
        object of the same name (another engine), whose options (a JSON serialiser, the
        server's version) may differ; computing it twice at once is harmless."""
        compiled = self._compiled.get(dialect.name)
        if compiled is None or compiled.dialect is not dialect:
            compiled = _Compiled(self.statement, dialect, self.columns)
            self._compiled[dialect.name] = compiled
        return compiled


class _Compiled:
    """One statement compiled for one dialect: its SQL, how to bind its parameters, and
    (from the first execution's cursor description, as Core) how to read its columns."""

    def __init__(self, statement: Executable, dialect: Dialect, columns: tuple[str, ...]) -> None:
        compiled = _compile(statement, dialect)
        _refuse_per_call_work(compiled)
        if _result_keys(compiled) != columns:
            raise ArgumentError("the columns compiled for this dialect differ from the statement's")
        self.dialect = dialect
        self.sql = compiled.string
        self.positional = compiled.positional
        self.sequence = dialect.execute_sequence_format
        self.slots = _slots(compiled)
        self.required = frozenset(slot[1] for slot in self.slots if slot[1] is not None)
        self.result_types = [column.type for column in compiled._result_columns]
        self.processors: tuple[tuple[int, Processor], ...] | None = None

    def bind(self, params: Mapping[str, Any]) -> Sequence[Any] | dict[str, Any]:
        """The DBAPI parameters: the caller's, or the statement's own values, processed."""
        try:
            if self.positional:
                return self.sequence(
                    [
                        fixed if key is None else params[key] if proc is None else proc(params[key])
                        for _, key, proc, fixed in self.slots
                    ]
                )
            return {
                name: fixed if key is None else params[key] if proc is None else proc(params[key])
                for name, key, proc, fixed in self.slots
            }
        except KeyError:
            missing = sorted(self.required.difference(params))
            if missing:
                raise InvalidRequestError(
                    f"A value is required for bind parameter {missing[0]!r}"
                ) from None
            raise

    def fetch_all(self, cursor: DBAPICursor) -> list[Row]:
        rows = cursor.fetchall()
        processors = self._processors(cursor)
        if not processors:
            return list(rows)
        return [_processed(row, processors) for row in rows]

    def fetch_one(self, cursor: DBAPICursor) -> Row | None:
        row = cursor.fetchone()
        if row is None:
            return None
        processors = self._processors(cursor)
        return _processed(row, processors) if processors else tuple(row)

    def _processors(self, cursor: DBAPICursor) -> tuple[tuple[int, Processor], ...]:
        """(position, processor) for the columns that need one, chosen as Core chooses them:
        by the column's type and the type code in the cursor description."""
        if self.processors is None:
            description = cursor.description
            if description is None or len(description) != len(self.result_types):
                raise InvalidRequestError("the cursor's columns differ from the statement's")
            self.processors = tuple(
                (at, processor)
                for at, (type_, column) in enumerate(
                    zip(self.result_types, description, strict=True)
                )
                if (processor := type_._cached_result_processor(self.dialect, column[1]))
                is not None
            )
        return self.processors


def _refuse_per_call_work(compiled: SQLCompiler) -> None:
    """Refuse what Core would compute per call, which a fixed SQL string cannot carry."""
    if compiled.post_compile_params or compiled.literal_execute_params:
        raise ArgumentError(
            "expanding (IN) and literal-execute parameters are rendered per call: "
            "Prepared runs one fixed SQL string"
        )
    if compiled.insert_prefetch or compiled.update_prefetch:
        raise ArgumentError(
            "columns with Python-side defaults would be filled per call: give every column "
            "a value in the statement"
        )
    if compiled.implicit_returning:
        raise ArgumentError(
            "the statement would fetch the new primary key (implicit RETURNING): "
            "use .inline() or .returning()"
        )
    if any(bind.callable is not None for bind in compiled.bind_names):
        raise ArgumentError("parameters computed per call (callable_) are not supported")


def _slots(compiled: SQLCompiler) -> tuple[_Slot, ...]:
    """Per DBAPI parameter (in statement order when positional): its name in the SQL, the
    caller's key (None for a value of the statement's own), the bind processor, and the
    statement's own value, processed once here."""
    binds = {name: bind for bind, name in compiled.bind_names.items()}
    escaped = compiled.escaped_bind_names
    slots: list[_Slot] = []
    for name in (compiled.positiontup if compiled.positional else list(binds)) or ():
        bind = binds[name]
        proc = _bind_processor(compiled, name)
        if bind.required:
            slots.append((escaped.get(name, name), bind.key, proc, None))
        else:
            fixed = bind.value if proc is None else proc(bind.value)
            slots.append((escaped.get(name, name), None, None, fixed))
    return tuple(slots)


def _bind_processor(compiled: SQLCompiler, name: str) -> Processor | None:
    proc = compiled._bind_processors.get(name)
    if proc is None or callable(proc):
        return proc
    raise ArgumentError("tuple-typed parameters are not supported")


def _compile(statement: Executable, dialect: Dialect | None) -> SQLCompiler:
    """For ``dialect``; with None, for the statement's own stringify dialect (that of a
    dialect-specific construct, such as ``sqlite.insert``)."""
    if not isinstance(statement, ClauseElement):
        raise ArgumentError(f"not a SQL statement: {type(statement).__name__}")
    compiled = statement.compile(dialect=dialect)
    if not isinstance(compiled, SQLCompiler):
        raise ArgumentError(f"not a SQL statement: {type(statement).__name__}")
    return compiled


def _result_keys(compiled: SQLCompiler) -> tuple[str, ...]:
    """The result columns' keys, as ``Row`` names them (``count_1`` for an unlabelled
    ``count()``): the same for every dialect."""
    return tuple(column.keyname for column in compiled._result_columns)


def _processed(row: Sequence[Any], processors: tuple[tuple[int, Processor], ...]) -> Row:
    values = list(row)
    for at, processor in processors:
        values[at] = processor(values[at])
    return tuple(values)


def _rowcount(_compiled: _Compiled, cursor: DBAPICursor) -> int:
    return int(cursor.rowcount)
