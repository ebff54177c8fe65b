"""The options of an :class:`~romancy.App`, with Go Romancy's defaults.

Each field mirrors a Go ``With…`` option (``WithStaleLockTimeout`` →
``stale_lock_timeout``); durations are seconds (a ``timedelta`` is accepted too).
"""

from __future__ import annotations

import dataclasses
import re
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from romancy.errors import ConfigurationError
from romancy.hooks import WorkflowHooks
from romancy.retry import RetryPolicy
from romancy.wire import frameworks

_FRAMEWORK = re.compile(r"^[A-Za-z0-9_.-]{1,50}$")
#: The database an App (and the ``romancy`` command) uses when none is named.
DEFAULT_DATABASE = "romancy.db"


@dataclass(frozen=True)
class AppConfig:
    """Every App option. Build one directly or pass the same names to ``App(...)``."""

    database: str = DEFAULT_DATABASE
    service_name: str = "romancy-service"
    worker_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    #: Value of ``workflow_instances.framework`` on our rows (docs/compat.md).
    framework: str = frameworks.OURS
    auto_migrate: bool = True
    migrations_source: str | Path | None = None
    hooks: WorkflowHooks = field(default_factory=WorkflowHooks)
    default_retry_policy: RetryPolicy | None = None
    shutdown_timeout: float = 30.0
    stale_lock_interval: float = 60.0
    stale_lock_timeout: float = 300.0
    timer_check_interval: float = 10.0
    workflow_resumption_interval: float = 1.0
    recur_check_interval: float = 5.0
    leader_heartbeat_interval: float = 15.0
    leader_lease_duration: float = 45.0
    max_concurrent_resumptions: int = 10
    max_concurrent_timers: int = 10
    max_workflows_per_batch: int = 100
    max_timers_per_batch: int = 100
    #: Receive timeouts and missed deliveries are checked this often (leader).
    message_check_interval: float = 5.0
    #: Go's event-timeout loop only delegates to the message check; the sooner one wins.
    event_timeout_interval: float = 30.0
    max_concurrent_messages: int = 10
    max_messages_per_batch: int = 100
    channel_cleanup_interval: float = 300.0
    #: Messages older than this are deleted (Go's default, 24 h).
    channel_message_retention: float = 86400.0
    outbox_enabled: bool = False
    broker_url: str = ""
    outbox_interval: float = 1.0
    outbox_batch_size: int = 100
    #: Attempts before an outbox event is marked ``failed`` (Go's relayer: 5).
    outbox_max_retries: int = 5
    #: Send CloudEvents in structured mode instead of binary mode.
    outbox_structured: bool = False
    #: A ``processing`` outbox row older than this was abandoned by a dead relayer.
    outbox_claim_timeout: float = 300.0
    #: PostgreSQL LISTEN/NOTIFY: None = on for PostgreSQL, off elsewhere.
    listen_notify: bool | None = None
    notify_reconnect_delay: float = 60.0
    #: Largest HTTP request body the ASGI app accepts (413 beyond).
    max_request_bytes: int = 1_048_576
    #: Deepest nesting of arrays/objects in a JSON body the ASGI app accepts (400 beyond).
    max_json_depth: int = 64
    #: Connections per pool (PostgreSQL/MySQL; SQLite readers).
    pool_size: int = 10

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, timedelta):
                object.__setattr__(self, f.name, value.total_seconds())
                value = value.total_seconds()
            if f.type in ("float", "int") and (
                isinstance(value, bool) or not isinstance(value, int | float) or value <= 0
            ):
                raise ConfigurationError(
                    f"App option {f.name} must be a positive number, got {value!r}"
                )
        if not _FRAMEWORK.match(self.framework) or self.framework in frameworks.RESERVED:
            raise ConfigurationError(
                f"App option framework={self.framework!r} must be 1-50 letters, digits or "
                f"'_.-', and not a peer's own tag ({', '.join(sorted(frameworks.RESERVED))})"
            )
        if not self.worker_id:
            raise ConfigurationError("App option worker_id must not be empty")
        if self.outbox_enabled and not self.broker_url:
            raise ConfigurationError("App option outbox_enabled needs broker_url")
        if not isinstance(self.hooks, WorkflowHooks):
            raise ConfigurationError("App option hooks must be a romancy.WorkflowHooks instance")

    @property
    def leader_lock_name(self) -> str:
        """Our own leader lock (docs/compat.md): derived from the framework tag."""
        return re.sub(r"[^A-Za-z0-9_]", "_", self.framework) + "_leader"

    @property
    def message_check(self) -> float:
        """How often the leader checks receive timeouts and missed deliveries."""
        return min(self.message_check_interval, self.event_timeout_interval)

    @property
    def lock_renewal_interval(self) -> float:
        """How often a worker extends the leases of the instances it is running (docs/engine.md)."""
        return min(self.stale_lock_timeout / 3, 10.0)

    @classmethod
    def from_options(cls, options: dict[str, Any]) -> AppConfig:
        """Build from keyword options, naming any that does not exist."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(options) - known)
        if unknown:
            raise ConfigurationError(
                f"unknown App option(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}"
            )
        return cls(**options)
