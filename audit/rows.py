"""Inserting rows fast: PostgreSQL ``COPY … FROM STDIN`` instead of an ORM bulk insert, and
one plain multi-row ``INSERT`` for a few rows.

``bulk_create`` prepares every field of every object and quotes every value into one large
statement; for the audit trail and message timelines, written for every status change, that
cost more than the rest of a hand-off. ``COPY`` streams the rows as they are. But a ``COPY``
costs two round trips to the server (start, then data and end) and more protocol work than a
statement, so a write of a few rows (one single accept writes one notification, one message,
two events and three audit records) is one ``INSERT … VALUES (…), (…)`` instead: one round
trip. Other databases (SQLite, the embedded default) get one prepared ``INSERT`` run for each
row; callers needing primary keys back use ``bulk_create``. Lives in
``audit``, the lowest layer, so that ``hub`` may use it too.

Inside ``rows_batched()`` (PostgreSQL) the few-row ``INSERT``s are not sent one by one: they
wait, and go as one statement (``WITH w0 AS (INSERT …), w1 AS (INSERT …) INSERT …``), one
round trip for a single accept's notification, message, events, pending count and audit
records. Any other statement the block runs (a read, a savepoint, a ``COPY``) sends the waiting
ones first, so what the block reads and writes happens in the order it was written.
"""

from __future__ import annotations

import functools
import json
import json.encoder as json_encoder
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar, cast

from django.db import connection, connections, models, transaction
from django.db.models import Field
from django.db.models.base import ModelState
from django.db.models.signals import post_init, pre_init
from django.db.utils import DEFAULT_DB_ALIAS
from more_itertools import chunked
from psycopg import _queries as psycopg_queries
from psycopg.types.json import Jsonb

M = TypeVar("M", bound=models.Model)

# Up to this many rows, one INSERT statement; more, a COPY.
INSERT_MAX_ROWS = 50
# An INSERT of more values than this binds one array per column (``INSERT … SELECT * FROM
# unnest(…)``), not one parameter per value: psycopg parses a statement's text placeholder by
# placeholder and caches that only for statements of up to 50 parameters, and ``VALUES`` of n
# rows is a new text for every n (nor can the server prepare it). A dispatch batch of 50
# messages wrote its 50 timeline events and 50 audit records, twice, as 300- and
# 500-parameter statements.
INSERT_MAX_PARAMETERS = 50
# A batched block sends its waiting INSERTs once they bind this many parameters (PostgreSQL
# takes 65,535 a statement).
BATCHED_MAX_PARAMS = 20_000
# The attribute of the connection holding a batched block's waiting INSERTs (None outside one).
_PENDING = "rows_batched_pending"
# psycopg turns a statement's %s placeholders into PostgreSQL's $n by a regular expression on
# every execute, keeping the result per text (128 texts) only for statements of up to 50
# parameters (and 4 KB): a single accept's batched INSERT has 58 (1.5 KB), and parsing it each
# time cost more Python calls than the five round trips it saves. Kept up to this many; a
# module constant of psycopg's, read at each execute (nothing happens if it goes away).
QUERY_CACHED_MAX_PARAMS = 200
if getattr(psycopg_queries, "MAX_CACHED_STATEMENT_PARAMS", QUERY_CACHED_MAX_PARAMS) < QUERY_CACHED_MAX_PARAMS:
    psycopg_queries.MAX_CACHED_STATEMENT_PARAMS = QUERY_CACHED_MAX_PARAMS


def json_dumps(
    *, default: Callable[[Any], Any] | None = None, ascii_only: bool = True
) -> Callable[[Any], str]:
    """``json.dumps`` with its default options (``default`` aside), its C encoder made once:
    ``json.dumps`` makes one for every call, through three Python frames, and the rows of a
    batch of 1,000 notifications dump some 10,000 JSON values. The same text, except that a
    value holding itself overflows the stack instead of being named circular (the encoder
    keeps no record of the containers it is in: a shared one could hold stale entries after
    an error). ``ascii_only`` off: ``ensure_ascii=False``'s text."""
    encoder = json.JSONEncoder(default=default, ensure_ascii=ascii_only)
    make = getattr(json_encoder, "c_make_encoder", None)
    if make is None:  # no C accelerator: the plain way
        return encoder.encode
    encode = make(
        None,  # markers: no circular check (above)
        encoder.default,
        json_encoder.encode_basestring_ascii if ascii_only else json_encoder.encode_basestring,
        None,  # indent
        encoder.key_separator,
        encoder.item_separator,
        encoder.sort_keys,
        encoder.skipkeys,
        encoder.allow_nan,
    )
    join = "".join

    def dumps(value: Any) -> str:
        return join(encode(value, 0))

    return dumps


# ``json.dumps(value)``, for the JSON columns written by COPY.
_json_text = json_dumps()


class JsonText(str):
    """A JSON column's value given as its JSON text (``json.dumps`` of it, already made by the
    caller): written as it is, not dumped again."""


def _as_written(text: str) -> str:
    return text


@functools.cache
def _shape(
    model: type[models.Model], columns: tuple[str, ...], vendor: str
) -> tuple[list[Any], list[int], str, str]:
    """The fields of ``columns``, which of them are JSON, and the quoted table and column
    names: the same for every write of these columns, so worked out once per process."""
    meta = model._meta
    fields = [meta.get_field(name) for name in columns]
    json_at = [i for i, f in enumerate(fields) if isinstance(f, models.JSONField)]
    quote = connection.ops.quote_name
    names = ", ".join(quote(str(f.column)) for f in fields)  # type: ignore[union-attr]
    return fields, json_at, quote(meta.db_table), names


def array_placeholder() -> str:
    """The placeholder of an array parameter: binary (``%b``) where the server binds the
    parameters, ``%s`` with Django's client-side binding (``DATABASE_PREPARE_THRESHOLD=off``),
    which has no binary. psycopg writes a text array by escaping each element with a regular
    expression (a JSON value or a text with a quote or a space: a dozen calls each); a binary
    array's elements are written as they are."""
    return "%b" if connection.settings_dict.get("OPTIONS", {}).get("server_side_binding") is True else "%s"


def arrays_cast(fields: Iterable[Any], placeholder: str) -> str:
    """``placeholder::type[]`` for each of ``fields``: the arrays of an ``unnest``."""
    return ", ".join(f"{placeholder}::{f.db_type(connection)}[]" for f in fields)


def rows_insert(model: type[models.Model], columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """Insert ``rows`` (values in ``columns`` order, field names) into ``model``'s table; returns
    how many. JSON fields take plain Python values, or their text as a ``JsonText``; no signals
    are sent, no objects returned."""
    items = [list(row) for row in rows]
    if not items:
        return 0
    vendor = connection.vendor
    fields, json_at, table, names = _shape(model, tuple(columns), vendor)
    if vendor != "postgresql":
        for row in items:
            for i in json_at:
                if type(row[i]) is JsonText:
                    row[i] = json.loads(row[i])
        # One prepared INSERT run for every row (one statement in the query log, as on
        # PostgreSQL), each value prepared by its field (a foreign key's value is its id). Not
        # ``bulk_create``: it would replace the given ``auto_now_add`` times with its own clock
        # and split the rows into as many statements as SQLite's 999 parameters allow.
        one = "(" + ", ".join(["%s"] * len(fields)) + ")"
        with connection.cursor() as cursor:
            cursor.executemany(
                f"INSERT INTO {table} ({names}) VALUES {one}",  # noqa: S608 - names quoted, values bound
                [
                    [f.get_db_prep_save(v, connection) for f, v in zip(fields, row, strict=True)]
                    for row in items
                ],
            )
        return len(items)
    # JSON as text for COPY; bound as jsonb, as Django binds it, in an INSERT (whatever the
    # connection's binding, client or server side).
    copy = len(items) > INSERT_MAX_ROWS
    for row in items:
        for i in json_at:
            value = row[i]
            if type(value) is JsonText:
                row[i] = value if copy else Jsonb(value, dumps=_as_written)
            else:
                row[i] = _json_text(value) if copy else Jsonb(value)
    if len(items) * len(fields) > INSERT_MAX_PARAMETERS and not copy:
        # One array per column: one statement text whatever the number of rows (below).
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {table} ({names}) SELECT * FROM unnest({arrays_cast(fields, array_placeholder())})",  # noqa: S608 - names quoted, values bound
                [list(column) for column in zip(*items, strict=True)],
            )
        return len(items)
    if len(items) <= INSERT_MAX_ROWS:
        one = "(" + ", ".join(["%s"] * len(fields)) + ")"
        values = ", ".join([one] * len(items))
        insert_run(
            f"INSERT INTO {table} ({names}) VALUES {values}",  # noqa: S608 - names quoted, values bound
            [value for row in items for value in row],
        )
        return len(items)
    rows_batched_send()  # a COPY goes around the cursor's wrappers: the waiting INSERTs first
    statement = f"COPY {table} ({names}) FROM STDIN"
    started = time.monotonic()
    with connection.cursor() as cursor, cursor.cursor.copy(statement) as copy:
        for row in items:
            copy.write_row(row)
    if connection.queries_logged:
        # Logged as a statement, as an INSERT is: a count of statements (the tests' query
        # counts, the debug toolbar) is the same whichever way the rows went.
        elapsed = time.monotonic() - started
        connection.queries_log.append({"sql": f"{statement} -- {len(items)} rows", "time": f"{elapsed:.3f}"})
    return len(items)


def insert_run(sql: str, params: list[Any]) -> None:
    """Run an ``INSERT`` (no ``RETURNING``): now, or inside ``rows_batched()`` with the block's
    other ones, as one statement."""
    pending: list[tuple[str, list[Any]]] | None = getattr(connections[DEFAULT_DB_ALIAS], _PENDING, None)
    if pending is None:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
        return
    pending.append((sql, params))
    if sum(len(p) for _, p in pending) >= BATCHED_MAX_PARAMS:
        rows_batched_send()


def rows_batched_send() -> None:
    """Send a batched block's waiting ``INSERT``s now, as one statement (none outside a block)."""
    wrapper = connections[DEFAULT_DB_ALIAS]
    pending: list[tuple[str, list[Any]]] | None = getattr(wrapper, _PENDING, None)
    if not pending:
        return
    setattr(wrapper, _PENDING, [])  # the statement below passes the wrapper with none waiting
    *first, (last_sql, _) = pending
    sql = last_sql
    if first:
        ctes = ", ".join(f"w{i} AS ({s})" for i, (s, _) in enumerate(first))
        sql = f"WITH {ctes} {last_sql}"
    with connection.cursor() as cursor:
        cursor.execute(sql, [value for _, params in pending for value in params])


def _sent_first(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
    if sql.startswith("ROLLBACK"):
        # A savepoint rolled back: what waits was written after it (its SAVEPOINT sent the
        # rest), so it is rolled back unsent, not sent into a transaction that may have failed.
        setattr(connections[DEFAULT_DB_ALIAS], _PENDING, [])
    else:
        rows_batched_send()
    return execute(sql, params, many, context)


@contextmanager
def rows_batched(*, savepoint: bool = True) -> Iterator[None]:
    """``transaction.atomic(savepoint=savepoint)`` whose few-row ``INSERT``s (``rows_insert``,
    ``insert_run``) go to PostgreSQL as one statement: when the block ends, or before any other
    statement it runs (so a read sees the rows written before it). A block that raises sends
    none of them: its atomic rolls them back with the rest. Elsewhere than PostgreSQL, and
    inside a batched block already, just the atomic."""
    with transaction.atomic(savepoint=savepoint):
        wrapper = connections[DEFAULT_DB_ALIAS]
        if wrapper.vendor != "postgresql" or getattr(wrapper, _PENDING, None) is not None:
            yield
            return
        setattr(wrapper, _PENDING, [])
        try:
            with wrapper.execute_wrapper(_sent_first):
                yield
                rows_batched_send()
        finally:
            setattr(wrapper, _PENDING, None)


@functools.cache
def _making(
    model: type[models.Model],
) -> tuple[dict[str, Any], list[tuple[str, Any]], dict[str, tuple[str, str]]]:
    """For ``instance_made``: each column's default by attribute name (those a callable makes
    per instance are left out: their attribute names and fields), and for each relation by
    field name, its column's attribute name and the related object's attribute it holds."""
    defaults: dict[str, Any] = {}
    made: list[tuple[str, Any]] = []
    for f in model._meta.concrete_fields:
        if f.has_default() and callable(f.default):
            made.append((f.attname, f))
        else:  # a value (Django's constructor gives every instance that same object)
            defaults[f.attname] = f.get_default()
    relations = {
        f.name: (f.attname, f.target_field.attname)  # type: ignore[attr-defined]
        for f in model._meta.concrete_fields
        if f.is_relation and f.attname != f.name
    }
    return defaults, made, relations


def instance_made(model: type[M], /, **values: Any) -> M:
    """``model(**values)``, made without the constructor's work per field (a default looked
    up, a keyword matched, a descriptor's checks: half the cost of an accept's instances):
    its ``__dict__`` filled at once. ``values`` by
    attribute name, or a relation by field name given its object (or None), which is cached
    on the result as ``model(...)`` caches it; every other column takes its default. Unsaved,
    as ``model(...)`` leaves it. A model with ``pre_init``/``post_init`` receivers is made by
    its constructor, so they run."""
    # No receiver at all (as Signal.send first asks): no per-model look-up of listeners.
    if (pre_init.receivers or post_init.receivers) and (
        pre_init.has_listeners(model) or post_init.has_listeners(model)
    ):
        return model(**values)
    defaults, made, relations = _making(model)
    instance = model.__new__(model)
    instance._state = ModelState()
    fields = instance.__dict__
    fields.update(defaults)
    for attname, f in made:
        if attname not in values:
            fields[attname] = f.get_default()
    fields.update(values)
    # The relations given by their objects: the column takes the object's key, the object is
    # cached (as ModelState's descriptor makes the cache: a dict of the instance's own).
    if given := relations.keys() & values.keys():
        cache = instance._state.fields_cache = {}
        for name in given:
            value = fields.pop(name)
            attname, target = relations[name]
            fields[attname] = None if value is None else getattr(value, target)
            cache[name] = value
    return instance


# Rows a statement of ``rows_update`` sets.
UPDATE_CHUNK = 1000


def rows_update(
    model: type[models.Model], names: Sequence[str], items: Sequence[tuple[Any, Sequence[Any]]]
) -> None:
    """Set fields ``names`` of ``model``'s rows: ``items`` holds each row's primary key and its
    values in ``names``' order. Django's ``bulk_update`` builds a CASE expression per field and
    row, which cost more than the whole hand-off for a batch of a few hundred messages. On
    PostgreSQL this is one ``UPDATE … FROM unnest(…)`` of one array per column (``UPDATE_CHUNK``
    rows a statement): a few parameters whatever the number of rows, so the text is the same
    for every batch of the same fields (psycopg parses it once, the server prepares it).
    Elsewhere one prepared statement run for every row."""
    if not items:
        return
    vendor = connection.vendor
    pk, fields, sql = _update_shape(
        model, tuple(names), vendor, array_placeholder() if vendor == "postgresql" else ""
    )
    prep = connection
    for chunk in chunked(items, UPDATE_CHUNK):
        with connection.cursor() as cursor:
            if vendor == "postgresql":
                # One array per column.
                params = [[pk.get_db_prep_save(key, prep) for key, _ in chunk]]
                params += [
                    [f.get_db_prep_save(values[i], prep) for _, values in chunk] for i, f in enumerate(fields)
                ]
                cursor.execute(sql, params)
            else:
                cursor.executemany(
                    sql,
                    [
                        [
                            *(f.get_db_prep_save(v, prep) for f, v in zip(fields, values, strict=True)),
                            pk.get_db_prep_save(key, prep),
                        ]
                        for key, values in chunk
                    ],
                )


@functools.lru_cache(maxsize=64)
def _update_shape(
    model: type[models.Model], names: tuple[str, ...], vendor: str, placeholder: str
) -> tuple[Field[Any, Any], list[Field[Any, Any]], str]:
    """The primary key, the fields of ``names`` and the statement: the same for every update
    of these fields, so worked out once per process."""
    meta = model._meta
    pk = meta.pk
    assert pk is not None  # noqa: S101 - every model has one
    fields = [cast("Field[Any, Any]", meta.get_field(name)) for name in names]
    quote = connection.ops.quote_name
    table = quote(meta.db_table)
    columns = [quote(str(f.column)) for f in fields]
    pk_column = quote(str(pk.column))
    if vendor == "postgresql":
        arrays = arrays_cast([pk, *fields], placeholder)
        assignments = ", ".join(f"{c} = v.{c}" for c in columns)
        sql = (
            f"UPDATE {table} AS r SET {assignments} "  # noqa: S608 - identifiers from model meta
            f"FROM unnest({arrays}) AS v(_id, {', '.join(columns)}) "
            f"WHERE r.{pk_column} = v._id"
        )
    else:
        assignments = ", ".join(f"{c} = %s" for c in columns)
        sql = f"UPDATE {table} SET {assignments} WHERE {pk_column} = %s"  # noqa: S608
    return pk, fields, sql


def rows_read(model: type[M], where: str, params: Sequence[Any], *, tail: str = "") -> list[M]:
    """The rows of ``model``'s table matching ``where`` (SQL with ``%s`` placeholders;
    ``tail``: ORDER BY, FOR UPDATE), as instances read from the database, made without the
    model's constructor (as ``new_row``) and without the ORM's query building. Each field's
    ``from_db_value`` (a JSON field's parsing) is applied; the database's own types are
    otherwise as its driver gives them, so this is for PostgreSQL (psycopg's datetimes)."""
    return [row for row, _ in rows_read_with(model, where, params, tail=tail)]


def rows_read_with(
    model: type[M],
    where: str,
    params: Sequence[Any],
    *,
    extra: Sequence[str] = (),
    extra_params: Sequence[Any] = (),
    tail: str = "",
) -> list[tuple[M, tuple[Any, ...]]]:
    """``rows_read``, each row with the values of ``extra`` (SQL expressions selected beside
    the row's columns, their placeholders bound to ``extra_params``): what the caller would
    otherwise read in a statement of its own."""
    table, columns, attnames, converters = _reading(model)
    # Named apart from the table's columns (a subquery's ``id`` would make ``ORDER BY id``
    # ambiguous).
    selected = ", ".join([columns, *(f"{sql} AS extra_{i}" for i, sql in enumerate(extra))])
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {selected} FROM {table} WHERE {where} {tail}",  # noqa: S608 - quoted names
            [*extra_params, *params],
        )
        found = cursor.fetchall()
    rows: list[tuple[M, tuple[Any, ...]]] = []
    alias = connection.alias
    width = len(attnames)
    for values in found:
        row = model.__new__(model)
        fields = row.__dict__
        fields.update(zip(attnames, values[:width], strict=True))
        for attname, convert in converters:
            fields[attname] = convert(fields[attname], None, connection)
        state = fields["_state"] = ModelState()
        state.adding = False
        state.db = alias
        rows.append((row, values[width:]))
    return rows


@functools.lru_cache(maxsize=32)
def _reading(model: type[models.Model]) -> tuple[str, str, tuple[str, ...], tuple[tuple[str, Any], ...]]:
    fields = model._meta.concrete_fields
    quote = connection.ops.quote_name
    columns = ", ".join(quote(str(f.column)) for f in fields)
    converters = tuple((str(f.attname), f.from_db_value) for f in fields if hasattr(f, "from_db_value"))
    return quote(model._meta.db_table), columns, tuple(str(f.attname) for f in fields), converters
