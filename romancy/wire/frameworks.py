"""The ``workflow_instances.framework`` tags: which runtime wrote a row (docs/compat.md)."""

from __future__ import annotations

#: Edda's tag (it writes plain ``python``).
EDDA = "python"
#: Go Romancy's tag.
GO = "go"
#: Ours: the default ``AppConfig.framework``.
OURS = "romancy-py"
#: Tags another runtime owns (``ruby`` is the Ruby runtime's); an App may not use them.
RESERVED = frozenset({EDDA, GO, "ruby"})
