"""Checks that data and databases have the shapes the runtimes share.

* :mod:`romancy.validation.json_schemas` — the JSON Schemas of every cross-runtime payload
  (``schema/json/``) with a validator that explains what is wrong in plain words.
* :mod:`romancy.validation.database` — ``romancy schema validate``: a live database
  against the schema our migrations produce, and its rows against the JSON Schemas.
"""

from romancy.validation.json_schemas import (
    Violation,
    load_schema,
    schema_names,
    validate,
    violations,
)

__all__ = ["Violation", "load_schema", "schema_names", "validate", "violations"]
