"""``romancy schema validate``: check a live database against what the runtimes share.

Two checks, both read-only on the live database:

1. **Schema.** The live schema, introspected, is compared with the schema romancy's own
   migrations produce on the same backend (built in a scratch location, see
   :mod:`romancy.validation.scratch`): every missing, extra or different table, column,
   key, constraint and index is a difference.
2. **Rows.** Every JSON value other runtimes read is checked against the JSON Schemas in
   ``schema/json/``, page by page:

   * ``workflow_history.event_data`` against ``history-event`` (by ``event_type``; binary
     rows are skipped);
   * ``channel_messages`` ``data`` and ``metadata`` against ``channel-message`` (binary
     rows: ``metadata`` only, against ``channel-message-metadata``);
   * ``outbox_events.event_data`` of JSON rows must be JSON;
   * ``workflow_instances`` ``input_data`` and ``output_data`` must be JSON.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, Table, select
from sqlalchemy.exc import DBAPIError

from romancy.errors import DatabaseUnavailableError
from romancy.storage import Storage
from romancy.storage.faults import driver_reason
from romancy.storage.introspection import (
    SchemaDifference,
    SchemaShape,
    compare_schemas,
    read_schema,
)
from romancy.storage.tables import (
    channel_messages,
    outbox_events,
    workflow_history,
    workflow_instances,
)
from romancy.validation.json_schemas import Violation, render_path, violations
from romancy.validation.scratch import expected_schema
from romancy.wire.status import DataType

#: Rows read per query.
PAGE_SIZE = 500

#: The columns each row check reads (a table lacking one is reported, not read).
_COLUMNS: dict[str, tuple[str, ...]] = {
    "workflow_instances": ("instance_id", "workflow_name", "input_data", "output_data"),
    "workflow_history": (
        "id",
        "instance_id",
        "activity_id",
        "event_type",
        "data_type",
        "event_data",
    ),
    "channel_messages": ("id", "channel", "data_type", "data", "metadata"),
    "outbox_events": ("event_id", "event_type", "data_type", "event_data"),
}


@dataclass(frozen=True)
class RowDifference:
    """A stored value that does not have the shape the runtimes expect."""

    table: str
    row: str  # "id=17", "instance_id=…"
    context: str  # event type, channel, workflow name
    column: str
    location: str  # the column, or a JSON path inside the row's JSON ("$.channel")
    expected: str
    found: str
    message: str

    def __str__(self) -> str:
        return f"{self.table} {self.row} ({self.context}): {self.location}: {self.message}"

    def as_json(self) -> dict[str, str]:
        return asdict(self)


@dataclass
class DatabaseReport:
    """Everything ``romancy schema validate`` found."""

    database: str
    dialect: str
    expected_versions: list[str]
    schema_differences: list[SchemaDifference] = field(default_factory=list)
    row_differences: list[RowDifference] = field(default_factory=list)
    rows_checked: dict[str, int] = field(default_factory=dict)
    binary_rows_skipped: int = 0
    #: Tables whose rows could not be read, with the reason (a schema difference says why).
    not_checked: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not self.schema_differences and not self.row_differences

    @property
    def difference_count(self) -> int:
        return len(self.schema_differences) + len(self.row_differences)

    def lines(self) -> list[str]:
        """One line per difference, then the tables not checked, then the summary."""
        out = [str(d) for d in self.schema_differences]
        out += [str(d) for d in self.row_differences]
        out += [f"{t}: rows not checked ({why})" for t, why in self.not_checked.items()]
        out.append(self.summary())
        return out

    def summary(self) -> str:
        checked = sum(self.rows_checked.values())
        rows = f"{checked} row{'s' if checked != 1 else ''} checked"
        skipped = f", {self.binary_rows_skipped} binary skipped" if self.binary_rows_skipped else ""
        versions = ", ".join(self.expected_versions)
        if self.clean:
            return (
                f"{self.database}: clean: the schema matches romancy's migrations "
                f"({versions}) and every row is valid ({rows}{skipped})"
            )
        total = self.difference_count
        return (
            f"{self.database}: {total} difference{'s' if total != 1 else ''}: "
            f"{len(self.schema_differences)} in the schema (expected: migrations {versions}), "
            f"{len(self.row_differences)} in rows ({rows}{skipped})"
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "database": self.database,
            "dialect": self.dialect,
            "clean": self.clean,
            "expected_migrations": self.expected_versions,
            "schema_differences": [
                {"table": d.table, "item": d.item, "expected": d.expected, "found": d.found}
                for d in self.schema_differences
            ],
            "row_differences": [d.as_json() for d in self.row_differences],
            "rows_checked": self.rows_checked,
            "binary_rows_skipped": self.binary_rows_skipped,
            "not_checked": self.not_checked,
            "notes": self.notes,
        }


async def check_database(storage: Storage, *, page_size: int = PAGE_SIZE) -> DatabaseReport:
    """Check the schema and the rows of the database ``storage`` is connected to."""
    try:
        expected = await expected_schema(storage)
        found = await _live_schema(storage)
        report = DatabaseReport(
            storage.url.redacted, storage.url.dialect, expected.versions, notes=expected.notes
        )
        report.schema_differences = compare_schemas(expected.shape, found)
        checker = _RowChecker(storage, report, found, page_size)
        await checker.run()
    except DBAPIError as exc:
        raise DatabaseUnavailableError(
            f"cannot check {storage.url.redacted}: {driver_reason(exc)}"
        ) from None
    return report


async def _live_schema(storage: Storage) -> SchemaShape:
    async with storage.transaction(read_only=True) as tx:
        return await read_schema(tx.connection, storage.dialect)


# ------------------------------------------------------------------------------ rows


class _RowChecker:
    def __init__(
        self, storage: Storage, report: DatabaseReport, found: SchemaShape, page_size: int
    ) -> None:
        self._storage = storage
        self._report = report
        self._found = found
        self._page = page_size

    async def run(self) -> None:
        for table, check in (
            ("workflow_instances", self._instances),
            ("workflow_history", self._history),
            ("channel_messages", self._messages),
            ("outbox_events", self._outbox),
        ):
            reason = self._unreadable(table)
            if reason:
                self._report.not_checked[table] = reason
                continue
            self._report.rows_checked[table] = 0
            await check()

    def _unreadable(self, table: str) -> str | None:
        shape = self._found.get(table)
        if shape is None:
            return "the table is missing"
        have = {column["name"] for column in shape["columns"]}
        missing = [c for c in _COLUMNS[table] if c not in have]
        return (
            f"missing column{'s' if len(missing) > 1 else ''} {', '.join(missing)}"
            if missing
            else None
        )

    def _flag(
        self,
        table: str,
        row: str,
        context: str,
        column: str,
        location: str,
        expected: str,
        found: str,
        message: str | None = None,
    ) -> None:
        self._report.row_differences.append(
            RowDifference(
                table,
                row,
                context,
                column,
                location,
                expected,
                found,
                message or f"expected {expected}, found {found}",
            )
        )

    def _flag_violation(
        self, where: tuple[str, str, str], item: Violation, column: str, location: str
    ) -> None:
        self._flag(*where, column, location, item.expected, item.found, item.message)

    def _not_json(
        self, table: str, row: str, context: str, column: str, value: str | None, error: str
    ) -> None:
        found = "NULL" if value is None else _snippet(value) + (f" ({error})" if error else "")
        self._flag(table, row, context, column, column, "JSON text", found)

    async def _pages(
        self, table: Table, key: ColumnElement[Any], columns: Sequence[str], where: Any = None
    ) -> AsyncIterator[list[tuple[Any, ...]]]:
        """Rows of ``table`` in ``key`` order, ``page_size`` at a time."""
        last: Any = None
        while True:
            query = select(*(table.c[name] for name in columns)).order_by(key).limit(self._page)
            if where is not None:
                query = query.where(where)
            if last is not None:
                query = query.where(key > last)
            async with self._storage.transaction(read_only=True) as tx:
                rows = [tuple(row) for row in await tx.connection.execute(query)]
            if not rows:
                return
            yield rows
            if len(rows) < self._page:
                return
            last = rows[-1][0]

    # ----------------------------------------------------------------- per table

    async def _instances(self) -> None:
        t = workflow_instances
        async for rows in self._pages(t, t.c.instance_id, _COLUMNS["workflow_instances"]):
            self._report.rows_checked["workflow_instances"] += len(rows)
            for instance_id, name, input_data, output_data in rows:
                where = ("workflow_instances", f"instance_id={instance_id}", str(name))
                ok, _, error = _parse(input_data, optional=False)
                if not ok:
                    self._not_json(*where, "input_data", input_data, error)
                ok, _, error = _parse(output_data, optional=True)
                if not ok:
                    self._not_json(*where, "output_data", output_data, error)

    async def _history(self) -> None:
        t = workflow_history
        async for rows in self._pages(t, t.c.id, _COLUMNS["workflow_history"]):
            self._report.rows_checked["workflow_history"] += len(rows)
            for row_id, _instance, activity_id, event_type, data_type, event_data in rows:
                if data_type == DataType.BINARY:
                    self._report.binary_rows_skipped += 1
                    continue
                where = ("workflow_history", f"id={row_id}", str(event_type))
                # Empty text reads as null, as every runtime's reader takes it.
                ok, value, error = _parse(event_data, optional=True)
                if not ok:
                    self._not_json(*where, "event_data", event_data, error)
                    continue
                document = {
                    "event_type": event_type,
                    "activity_id": activity_id,
                    "event_data": value,
                }
                for item in violations("history-event", document):
                    # "$" is the event_data; a fault elsewhere names its column.
                    if item.path[:1] == ("event_data",):
                        self._flag_violation(where, item, "event_data", render_path(item.path[1:]))
                    else:
                        column = str(item.path[0]) if item.path else "event_type"
                        self._flag_violation(where, item, column, column)

    async def _messages(self) -> None:
        t = channel_messages
        async for rows in self._pages(t, t.c.id, _COLUMNS["channel_messages"]):
            self._report.rows_checked["channel_messages"] += len(rows)
            for row_id, channel, data_type, data, metadata in rows:
                where = ("channel_messages", f"id={row_id}", f"channel {channel}")
                meta_ok, meta, meta_error = _parse(metadata, optional=True)
                if not meta_ok:
                    self._not_json(*where, "metadata", metadata, meta_error)
                if data_type == DataType.BINARY:
                    self._report.binary_rows_skipped += 1
                    if meta_ok:
                        for item in violations("channel-message-metadata", meta):
                            location = render_path(("metadata", *item.path))
                            self._flag_violation(where, item, "metadata", location)
                    continue
                data_ok, value, data_error = _parse(data, optional=False)
                if not data_ok:
                    self._not_json(*where, "data", data, data_error)
                if not (data_ok and meta_ok):
                    continue
                # "$" is the row as {"data", "metadata"}: the path starts with the column.
                for item in violations("channel-message", {"data": value, "metadata": meta}):
                    column = str(item.path[0]) if item.path else "data"
                    self._flag_violation(where, item, column, render_path(item.path))

    async def _outbox(self) -> None:
        t = outbox_events
        # Go Romancy leaves data_type empty; its event_data is JSON too.
        json_rows = t.c.data_type.in_([DataType.JSON, ""])
        async for rows in self._pages(t, t.c.event_id, _COLUMNS["outbox_events"], json_rows):
            self._report.rows_checked["outbox_events"] += len(rows)
            for event_id, event_type, _data_type, event_data in rows:
                ok, _, error = _parse(event_data, optional=False)
                if not ok:
                    where = ("outbox_events", f"event_id={event_id}", str(event_type))
                    self._not_json(*where, "event_data", event_data, error)


def _parse(text: str | None, *, optional: bool) -> tuple[bool, Any, str]:
    """``(ok, value, error)``: NULL or empty text is ``None`` when ``optional``."""
    if text is None or text == "":
        return optional, None, "" if optional else "empty"
    try:
        return True, json.loads(text), ""
    except ValueError as error:
        return False, None, str(error)


def _snippet(text: str, limit: int = 60) -> str:
    return repr(text if len(text) <= limit else text[: limit - 1] + "…")
