"""romancy: durable workflows for Python, sharing one database with Go Romancy and Edda.

The public API mirrors the Go package ``romancy`` in Python style; ``docs/api-mapping.md``
lists every Go name and its counterpart here.
"""

from romancy.activity import Activity, activity, define_activity, get_activity
from romancy.app import (
    App,
    WorkflowResult,
    cancel_workflow,
    get_workflow_result,
    register_workflow,
    start_workflow,
)
from romancy.channels import (
    ChannelMode,
    ReceivedMessage,
    get_group_members,
    join_group,
    leave_group,
    publish,
    receive,
    send_to,
    subscribe,
    unsubscribe,
)
from romancy.cloudevent import CloudEvent
from romancy.config import AppConfig
from romancy.context import WorkflowContext
from romancy.engine.signals import SuspendSignal, SuspendType, is_suspend_signal
from romancy.errors import (
    ActivityError,
    ChannelMessageTimeoutError,
    ChannelModeConflictError,
    ChannelNotSubscribedError,
    ConfigurationError,
    DatabaseUnavailableError,
    EventTimeoutError,
    InvalidValueError,
    LockAcquisitionError,
    MalformedMigrationError,
    MigrationError,
    MigrationLockTimeoutError,
    NonDeterminismError,
    OutboxEventNotFoundError,
    RetryExhaustedError,
    RomancyError,
    SchemaDriftError,
    SerializationError,
    TerminalError,
    WorkflowAlreadyExistsError,
    WorkflowCancelledError,
    WorkflowFailedError,
    WorkflowNotCancellableError,
    WorkflowNotFoundError,
    WorkflowNotRegisteredError,
    is_terminal_error,
)
from romancy.events import (
    ReceivedEvent,
    ingest_cloudevent,
    send_event,
    send_event_transactional,
    wait_event,
)
from romancy.hooks import WorkflowHooks
from romancy.retry import RetryPolicy
from romancy.storage import InstancePage, InstanceQuery, InstanceRecord, Storage, parse_database_url
from romancy.timers import sleep, sleep_until
from romancy.workflow import Workflow, WorkflowRef, define_workflow, get_workflow, recur, workflow

__version__ = "0.1.0"

__all__ = [
    "Activity",
    "ActivityError",
    "App",
    "AppConfig",
    "ChannelMessageTimeoutError",
    "ChannelMode",
    "ChannelModeConflictError",
    "ChannelNotSubscribedError",
    "CloudEvent",
    "ConfigurationError",
    "DatabaseUnavailableError",
    "EventTimeoutError",
    "InstancePage",
    "InstanceQuery",
    "InstanceRecord",
    "InvalidValueError",
    "LockAcquisitionError",
    "MalformedMigrationError",
    "MigrationError",
    "MigrationLockTimeoutError",
    "NonDeterminismError",
    "OutboxEventNotFoundError",
    "ReceivedEvent",
    "ReceivedMessage",
    "RetryExhaustedError",
    "RetryPolicy",
    "RomancyError",
    "SchemaDriftError",
    "SerializationError",
    "Storage",
    "SuspendSignal",
    "SuspendType",
    "TerminalError",
    "Workflow",
    "WorkflowAlreadyExistsError",
    "WorkflowCancelledError",
    "WorkflowContext",
    "WorkflowFailedError",
    "WorkflowHooks",
    "WorkflowNotCancellableError",
    "WorkflowNotFoundError",
    "WorkflowNotRegisteredError",
    "WorkflowRef",
    "WorkflowResult",
    "__version__",
    "activity",
    "cancel_workflow",
    "define_activity",
    "define_workflow",
    "get_activity",
    "get_group_members",
    "get_workflow",
    "get_workflow_result",
    "ingest_cloudevent",
    "is_suspend_signal",
    "is_terminal_error",
    "join_group",
    "leave_group",
    "parse_database_url",
    "publish",
    "receive",
    "recur",
    "register_workflow",
    "send_event",
    "send_event_transactional",
    "send_to",
    "sleep",
    "sleep_until",
    "start_workflow",
    "subscribe",
    "unsubscribe",
    "wait_event",
    "workflow",
]
