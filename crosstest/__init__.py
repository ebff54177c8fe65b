"""Cross-runtime channel tests: a crosstest CLI with Go Romancy's flags, and the matrix.

* ``python -m crosstest …`` — the romancy-py crosstest program (``crosstest.cli``).
* ``python -m crosstest.matrix …`` — runs the conformance cases across runtimes and
  backends (``crosstest.matrix``).
"""
