"""romancy: durable workflows for Python, sharing one database with Go Romancy and Edda."""

from romancy.errors import (
    ConfigurationError,
    DatabaseUnavailableError,
    MalformedMigrationError,
    MigrationError,
    MigrationLockTimeoutError,
    RomancyError,
    SchemaDriftError,
    WorkflowAlreadyExistsError,
)
from romancy.storage import Storage, parse_database_url

__version__ = "0.1.0"

__all__ = [
    "ConfigurationError",
    "DatabaseUnavailableError",
    "MalformedMigrationError",
    "MigrationError",
    "MigrationLockTimeoutError",
    "RomancyError",
    "SchemaDriftError",
    "Storage",
    "WorkflowAlreadyExistsError",
    "__version__",
    "parse_database_url",
]
