"""Exceptions raised by romancy.

Every error a user can meet derives from :class:`RomancyError`, so one ``except`` clause
catches them all; the subclasses name what went wrong.
"""

from __future__ import annotations


class RomancyError(Exception):
    """Base class of every romancy error."""


class ConfigurationError(RomancyError, ValueError):
    """An option or URL given to romancy is not usable (the message says which)."""


class DatabaseUnavailableError(RomancyError):
    """The database could not be reached or refused the connection."""


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
