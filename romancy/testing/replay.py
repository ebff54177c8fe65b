"""Replaying recorded histories against today's code, before deploying it.

``load_histories`` reads instances from a database (read-only) or ``histories_from_json``
from an export (``romancy get --json`` objects, or :meth:`RecordedHistory.to_json`);
``replay`` re-runs each against the workflow without executing activities or writing
anything, and reports determinism violations.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from romancy.engine.replayer import ReplayOutcome, ReplayRuntime, check_history
from romancy.errors import InvalidValueError, NonDeterminismError
from romancy.limits import check_name
from romancy.serialization import loads
from romancy.storage import (
    DatabaseURL,
    HistoryRecord,
    InstanceQuery,
    Storage,
    parse_database_url,
)
from romancy.storage.reading import explained, open_for_reading
from romancy.wire import frameworks
from romancy.workflow import Workflow

#: Instances read per page by :func:`load_histories`.
_PAGE = 200


@dataclass(frozen=True)
class RecordedHistory:
    """One instance's input and history, as a replay needs them."""

    instance_id: str
    workflow_name: str
    input: Any  #: the input's JSON value
    records: tuple[HistoryRecord, ...]

    def to_json(self) -> dict[str, Any]:
        """This history in the layout of ``romancy get --json`` (what
        :func:`histories_from_json` reads)."""
        return {
            "instance_id": self.instance_id,
            "workflow_name": self.workflow_name,
            "input": self.input,
            "history": [record.export() for record in self.records],
        }


@dataclass(frozen=True)
class ReplayReport:
    """The outcome of every history replayed; ``problems`` lists the violations."""

    outcomes: tuple[ReplayOutcome, ...]

    @property
    def problems(self) -> list[str]:
        """One line per violation, naming the instance."""
        return [f"{o.instance_id}: {p}" for o in self.outcomes for p in o.problems]

    @property
    def ok(self) -> bool:
        """Every history replays cleanly."""
        return not self.problems


async def load_histories(
    url: str | DatabaseURL, workflow_name: str, *, framework: str | None = frameworks.OURS
) -> list[RecordedHistory]:
    """Every recorded instance of ``workflow_name`` in the database at ``url`` (opened
    read-only), oldest first; ``framework=None`` takes every runtime's instances."""
    check_name(workflow_name, "workflow name")
    storage = await open_for_reading(parse_database_url(url) if isinstance(url, str) else url)
    try:
        return await explained(storage, lambda: _read_all(storage, workflow_name, framework))
    finally:
        await storage.close()


async def _read_all(
    storage: Storage, workflow_name: str, framework: str | None
) -> list[RecordedHistory]:
    found: list[RecordedHistory] = []
    token: str | None = None
    while True:
        page = await storage.instances.list_instances(
            InstanceQuery(
                framework=framework, workflow_name=workflow_name, limit=_PAGE, page_token=token
            )
        )
        for instance in page.instances:
            records = await storage.history.load_history(instance.instance_id)
            found.append(
                RecordedHistory(
                    instance.instance_id,
                    instance.workflow_name,
                    loads(instance.input_data),
                    tuple(records),
                )
            )
        if not page.has_more or not page.next_page_token:
            return sorted(found, key=lambda h: h.records[0].id if h.records else 0)
        token = page.next_page_token


def histories_from_json(source: str | Path | dict[str, Any] | list[Any]) -> list[RecordedHistory]:
    """Histories from an export: a file path, or the parsed JSON — one object with
    ``instance_id``, ``workflow_name``, ``input`` and ``history``, or a list of them."""
    data = source
    if isinstance(source, str | Path):
        data = json.loads(Path(source).read_text(encoding="utf-8"))
    items = data if isinstance(data, list) else [data]
    return [_history_of(item) for item in items]


def _history_of(item: Any) -> RecordedHistory:
    try:
        instance_id = str(item["instance_id"])
        records = tuple(
            HistoryRecord.from_export(instance_id, event, number)
            for number, event in enumerate(item["history"], 1)
        )
        return RecordedHistory(instance_id, str(item["workflow_name"]), item.get("input"), records)
    except (KeyError, TypeError, ValueError) as error:
        raise InvalidValueError(
            "a history export is an object with instance_id, workflow_name, input and "
            f"history (as `romancy get --json` prints), or a list of them: {error!r}"
        ) from None


async def replay(
    workflow: Workflow[Any, Any],
    histories: RecordedHistory | Iterable[RecordedHistory],
    *,
    raise_on_violation: bool = True,
) -> ReplayReport:
    """Replay ``histories`` against ``workflow``'s current code.

    Activities do not run and nothing is written. A violation raises
    :class:`~romancy.NonDeterminismError` naming the instance and the step (or, with
    ``raise_on_violation=False``, is listed in the report's ``problems``).
    """
    batch: Sequence[RecordedHistory] = (
        [histories] if isinstance(histories, RecordedHistory) else list(histories)
    )
    for history in batch:
        if history.workflow_name != workflow.name:
            raise InvalidValueError(
                f"history of instance {history.instance_id!r} belongs to workflow "
                f"{history.workflow_name!r}, not {workflow.name!r}"
            )
    # Calls workflow code makes outside steps (subscribe, join_group) land here.
    scratch = await Storage.open(":memory:", pool_size=1)
    try:
        await scratch.migrate()
        runtime = ReplayRuntime(scratch)
        outcomes = [
            await check_history(runtime, workflow, h.instance_id, h.input, list(h.records))
            for h in batch
        ]
    finally:
        await scratch.close()
    report = ReplayReport(tuple(outcomes))
    if raise_on_violation and not report.ok:
        raise NonDeterminismError("replay found violations:\n" + "\n".join(report.problems))
    return report
