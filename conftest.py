"""Test-suite wiring shared by ``tests/`` and ``conformance/``."""

pytest_plugins = ["tests.support.fixtures"]
