"""What a matrix run produces: each cell's outcome and each database's check."""

from __future__ import annotations

from dataclasses import dataclass

PASS, FAIL, KNOWN, FIXED, NOT_RUN = (
    "pass",
    "fail",
    "known divergence",
    "divergence passes",
    "not run",
)
STATUSES = (PASS, KNOWN, FIXED, FAIL, NOT_RUN)


@dataclass
class CellResult:
    """One cell: a case on a backend, sent by one runtime and received by another."""

    case: str
    backend: str
    sender: str
    receiver: str
    status: str
    detail: str
    divergence: str | None = None
    seconds: float = 0.0

    @property
    def pair(self) -> str:
        return f"{self.sender}->{self.receiver}"


@dataclass
class DatabaseCheck:
    """The rows the runtimes wrote to one database, checked against the shared shapes."""

    backend: str
    database: str
    clean: bool
    summary: str
    differences: list[str]
