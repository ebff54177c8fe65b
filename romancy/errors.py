"""Exceptions raised by romancy.

Every error a user can meet derives from :class:`RomancyError`, so one ``except`` clause
catches them all; the subclasses name what went wrong.
"""

from __future__ import annotations


class RomancyError(Exception):
    """Base class of every romancy error."""


def describe(error: BaseException) -> str:
    """``"ValueError: bad input"``: an error's type and message, as logs and records say it."""
    return f"{type(error).__name__}: {error}"


class ConfigurationError(RomancyError, ValueError):
    """An option or URL given to romancy is not usable (the message says which)."""


class InvalidValueError(RomancyError, ValueError):
    """An argument cannot be stored alike on every backend (too long, a NUL character,
    the wrong type); the message names the argument and the rule. Nothing was written."""


class MalformedJSONError(InvalidValueError):
    """Text received as JSON is not strict JSON (bad syntax, ``NaN``/``Infinity``, a number
    beyond any float, or nesting deeper than the limit); the message says which."""


class DatabaseUnavailableError(RomancyError):
    """The database could not be reached or refused the connection."""


class DuplicateRecordError(RomancyError):
    """A storage write hit a unique key: the row it would add exists already.

    Internal to the runtime (storage raises it, the engine reads it as "someone else
    recorded this first"); an activity's own SQL on ``ctx.session`` raises the driver's
    error instead.
    """


class WorkflowAlreadyExistsError(RomancyError):
    """A workflow instance with the requested id already exists; nothing was written."""


class MigrationError(RomancyError):
    """A schema migration could not be applied, inspected or rolled back."""


class MalformedMigrationError(MigrationError):
    """A migration file is not a valid dbmate file; nothing was applied."""


class MigrationLockTimeoutError(MigrationError):
    """Another process held the migration lock for longer than the timeout."""


class SchemaDriftError(MigrationError):
    """``schema_migrations`` records a version whose tables are missing from the database."""


class SerializationError(RomancyError, TypeError):
    """A value cannot be stored as JSON, or stored JSON cannot be read as the declared type."""


class WorkflowNotFoundError(RomancyError, LookupError):
    """No workflow instance has the given id."""

    def __init__(self, instance_id: str) -> None:
        super().__init__(f"workflow instance {instance_id} not found")
        self.instance_id = instance_id


class OutboxEventNotFoundError(RomancyError, LookupError):
    """No outbox event has one of the given ids (``event_ids``); nothing was changed."""

    def __init__(self, event_ids: list[str]) -> None:
        plural = "s" if len(event_ids) > 1 else ""
        super().__init__(f"no outbox event with id{plural} {', '.join(event_ids)}")
        self.event_ids = event_ids


class WorkflowNotRegisteredError(RomancyError, LookupError):
    """A workflow name is not registered with this App."""


class WorkflowNotCancellableError(RomancyError):
    """The instance has already completed or failed, so it cannot be cancelled."""


class WorkflowCancelledError(RomancyError):
    """The instance was cancelled: raised by ``wait_for_result``, and the ``error`` of
    ``get_workflow_result`` (the workflow's own code sees ``asyncio.CancelledError``)."""

    def __init__(self, instance_id: str, reason: str = "") -> None:
        super().__init__(
            f"workflow instance {instance_id} was cancelled" + (f": {reason}" if reason else "")
        )
        self.instance_id = instance_id
        self.reason = reason


class WorkflowFailedError(RomancyError):
    """The workflow ended in failure (raised by ``get_workflow_result`` / ``wait_for_result``)."""

    def __init__(self, instance_id: str, error_type: str, error_message: str) -> None:
        super().__init__(f"workflow instance {instance_id} failed: {error_type}: {error_message}")
        self.instance_id = instance_id
        self.error_type = error_type
        self.error_message = error_message


class NonDeterminismError(RomancyError):
    """Replayed workflow code took a different path than its recorded history."""


class TerminalError(RomancyError):
    """Raise (or wrap) an error in an activity to fail it at once, without retries."""

    def __init__(self, message: str | BaseException = "") -> None:
        cause = message if isinstance(message, BaseException) else None
        super().__init__(str(message))
        if cause is not None:
            self.__cause__ = cause


class RetryExhaustedError(RomancyError):
    """An activity failed on every attempt its retry policy allowed."""

    def __init__(self, activity_name: str, attempts: int, last_error: BaseException) -> None:
        super().__init__(
            f"retry exhausted for activity {activity_name!r} after {attempts} attempts: "
            + describe(last_error)
        )
        self.activity_name = activity_name
        self.attempts = attempts
        self.last_error = last_error
        self.__cause__ = last_error


class ActivityError(RomancyError):
    """An activity's error as recorded in history (seen when replaying a failed step)."""

    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(f"{error_type}: {message}")
        self.error_type = error_type
        self.message = message


class LockAcquisitionError(RomancyError):
    """Another worker holds the workflow instance's lock."""


def is_terminal_error(error: BaseException) -> bool:
    """``error`` is, or was caused by, a :class:`TerminalError`."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        if isinstance(current, TerminalError):
            return True
        seen.add(id(current))
        current = current.__cause__
    return False


class ChannelModeConflictError(RomancyError):
    """A channel already has subscribers in another mode (a channel's mode is locked)."""

    def __init__(self, channel: str, existing_mode: str, requested_mode: str) -> None:
        super().__init__(
            f"channel {channel!r} is already configured as {existing_mode!r} mode; "
            f"cannot subscribe with {requested_mode!r} mode"
        )
        self.channel = channel
        self.existing_mode = existing_mode
        self.requested_mode = requested_mode


class ChannelNotSubscribedError(RomancyError):
    """``receive`` on a channel the workflow has not subscribed to."""

    def __init__(self, channel: str) -> None:
        super().__init__(
            f"not subscribed to channel {channel!r}: call subscribe(ctx, {channel!r}, mode) "
            "before receive"
        )
        self.channel = channel


class ChannelMessageTimeoutError(RomancyError, TimeoutError):
    """No message arrived on the channel within the receive timeout."""

    def __init__(self, instance_id: str, channel: str) -> None:
        super().__init__(
            f"timeout waiting for channel message on {channel!r} (instance: {instance_id})"
        )
        self.instance_id = instance_id
        self.channel = channel


class EventTimeoutError(ChannelMessageTimeoutError):
    """No event of the awaited type arrived within the ``wait_event`` timeout."""

    def __init__(self, instance_id: str, event_type: str) -> None:
        super().__init__(instance_id, event_type)
        self.event_type = event_type
        self.args = (f"timeout waiting for event {event_type!r} (instance: {instance_id})",)
