"""The conformance matrix: cases x backends x runtime pairs, each cell run for real.

A cell is one case (``conformance/<case>/case.py``) on one backend with a sender runtime
and a receiver runtime, for every ordered pair of the runtimes under test (each with
itself too), so the matrix states the whole ecosystem's state, peers against each other
included. A cell ends ``pass``, ``fail`` (with the reason), ``known divergence`` (a peer
defect listed in ``conformance/known_divergences.toml``), ``divergence passes`` or ``not
run`` (with the reason); see :mod:`.divergences`. After the cells, every database they
wrote is checked with ``romancy schema validate``'s checker: its schema against our
migrations, every row each runtime wrote against the JSON Schemas of ``schema/json/``
(each SQLite cell's own file at the end of that cell, a server database once all its
cells are done). The command line is :mod:`.suite` (``romancy conformance run``).
"""

from __future__ import annotations

import asyncio
import importlib
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

from romancy.errors import describe
from romancy.storage import Storage, parse_database_url
from romancy.validation.database import check_database

from .cell import Cell
from .divergences import Divergence, classify, covering
from .process import CellFailure
from .results import FAIL, NOT_RUN, PASS, CellResult, DatabaseCheck
from .runtimes import Runtime
from .venvs import SUITE

CONFORMANCE = SUITE / "conformance"
#: ``conformance`` in a checkout, ``romancy.conformance`` when installed.
CASES_PACKAGE = ".".join([*(__package__ or "crosstest").split(".")[:-1], "conformance"])


def discover_cases() -> dict[str, ModuleType]:
    """Every ``conformance/<case>/case.py``, by folder name."""
    found = sorted(p.parent.name for p in CONFORMANCE.glob("*/case.py"))
    return {name: importlib.import_module(f"{CASES_PACKAGE}.{name}.case") for name in found}


def runtime_pairs(runtimes: list[Runtime]) -> list[tuple[Runtime, Runtime]]:
    """Every ordered (sender, receiver) pair, each runtime with itself too."""
    return [(sender, receiver) for sender in runtimes for receiver in runtimes]


class Matrix:
    """Runs every cell and collects the results."""

    def __init__(
        self,
        backends: dict[str, str],
        runtimes: list[Runtime],
        cases: dict[str, ModuleType],
        divergences: list[Divergence],
        parallel: int,
        workdir: Path,
        *,
        retry_failed: bool = False,
    ) -> None:
        self.backends = backends
        self.runtimes = runtimes
        self.cases = cases
        self.divergences = divergences
        self.workdir = workdir
        #: A failed cell runs once more; passing then, it keeps the first failure in its
        #: detail (for a loaded machine, where one missed deadline is not a verdict).
        self.retry_failed = retry_failed
        self._slots = asyncio.Semaphore(parallel)
        #: Finished cells so far and in all, for progress reports.
        self.done, self.total = 0, 0
        self.on_cell: Callable[[Matrix, CellResult], None] | None = None
        self._storages: dict[str, Storage] = {}
        self.checks: list[DatabaseCheck] = []

    async def run(self) -> list[CellResult]:
        try:
            for backend, url in self.backends.items():
                if not _is_sqlite(url):
                    self._storages[backend] = await _migrated(url)
            cells = [
                self._cell(case, backend, sender, receiver)
                for case in self.cases
                for backend in self.backends
                for sender, receiver in runtime_pairs(self.runtimes)
            ]
            self.total = len(cells)
            results = list(await asyncio.gather(*cells))
            for backend, storage in self._storages.items():
                await self._check(backend, storage)
            return results
        finally:
            for storage in self._storages.values():
                await storage.close()

    async def _cell(
        self, case: str, backend: str, sender: Runtime, receiver: Runtime
    ) -> CellResult:
        result = CellResult(case, backend, sender.name, receiver.name, NOT_RUN, "")
        module = self.cases[case]
        reason = sender.lacks(*module.SENDER_MODES) or receiver.lacks(*module.RECEIVER_MODES)
        if reason:
            result.detail = reason
            self._finished(result)
            return result
        known = covering(self.divergences, case, backend, sender.name, receiver.name)

        async def attempt() -> tuple[str, str, str | None]:
            return classify(*await self._attempt(module, case, backend, sender, receiver), known)

        async with self._slots:
            began = time.monotonic()
            status, detail, divergence = await attempt()
            if self.retry_failed and status == FAIL:
                first = detail
                status, detail, divergence = await attempt()
                if status != FAIL:
                    detail = f"{detail} (second run; the first failed: {first})"
            result.seconds = round(time.monotonic() - began, 1)
        result.status, result.detail, result.divergence = status, detail, divergence
        self._finished(result)
        return result

    def _finished(self, result: CellResult) -> None:
        self.done += 1
        if self.on_cell is not None:
            self.on_cell(self, result)

    async def _attempt(
        self, module: ModuleType, case: str, backend: str, sender: Runtime, receiver: Runtime
    ) -> tuple[str, str]:
        tag = uuid.uuid4().hex[:8]
        try:
            url, storage, own = await self._database(
                backend, f"{case}-{sender.name}-{receiver.name}"
            )
        except Exception as error:
            return FAIL, f"database not available: {error}"
        logs = self.workdir / "logs"
        logs.mkdir(exist_ok=True)
        cell = Cell(case, backend, sender, receiver, url, tag, storage, logs)
        try:
            return PASS, str(await module.run(cell) or "")
        except CellFailure as failure:
            return FAIL, str(failure)
        except Exception as error:  # a broken case is a failure of the cell, with its cause
            return FAIL, describe(error)
        finally:
            await cell.close()
            if own:
                await self._check(backend, storage)
                await storage.close()

    async def _check(self, backend: str, storage: Storage) -> None:
        try:
            found = await check_database(storage)
        except Exception as error:  # the check itself failing is a finding too
            check = DatabaseCheck(backend, storage.url.redacted, False, str(error), [str(error)])
        else:
            check = DatabaseCheck(
                backend, found.database, found.clean, found.summary(), found.lines()[:-1]
            )
        self.checks.append(check)

    async def _database(self, backend: str, name: str) -> tuple[str, Storage, bool]:
        """The cell's database: the backend's shared server database, or for SQLite a fresh
        file of the cell's own in ``<file>.cells/`` beside the file named (SQLite serialises
        writers, and cells run at once)."""
        url = self.backends[backend]
        if not _is_sqlite(url):
            return url, self._storages[backend], False
        named = Path(parse_database_url(url).sqlite_path or "")
        folder = named.with_name(named.name + ".cells")
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{name}.db"
        path.unlink(missing_ok=True)
        cell_url = f"sqlite:///{path}"
        return cell_url, await _migrated(cell_url), True


async def _migrated(url: str) -> Storage:
    storage = await Storage.open(url, pool_size=4)
    await storage.migrate()
    return storage


def _is_sqlite(url: str) -> bool:
    return parse_database_url(url).dialect == "sqlite"
