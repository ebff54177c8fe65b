"""The conformance suite's runner: a crosstest program with Go Romancy's flags, and the matrix.

* ``romancy crosstest …`` (or ``python -m crosstest`` in a checkout) — romancy-py's
  crosstest program (:mod:`.cli`).
* ``romancy conformance run|list …`` — the conformance cases across runtimes and
  databases (:mod:`.suite`, :mod:`.matrix`).

The repository keeps this package and ``conformance/`` at its top; the wheel installs them
as ``romancy.crosstest`` and ``romancy.conformance``, so modules here import each other
relatively and find the cases beside themselves.
"""
