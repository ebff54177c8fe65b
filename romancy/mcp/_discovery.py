"""Finding what to serve in a user's module: its workflows, and its App if it has one."""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from romancy.app import App
from romancy.errors import ConfigurationError, RomancyError, describe
from romancy.workflow import Workflow


@dataclass(frozen=True)
class Found:
    """What a module defines at its top level."""

    module: ModuleType
    workflows: list[Workflow[Any, Any]]
    app: App | None


def import_target(target: str) -> ModuleType:
    """Import ``target``: a dotted module name (found from the current directory too) or
    the path of a ``.py`` file."""
    if target.endswith(".py") or os.sep in target:
        path = Path(target)
        if not path.is_file():
            raise ConfigurationError(f"--module {target}: no such file")
        spec = importlib.util.spec_from_file_location(path.stem, path)
        if spec is None or spec.loader is None:
            raise ConfigurationError(f"--module {target}: not a Python module")
        module = importlib.util.module_from_spec(spec)
        sys.modules[path.stem] = module
        spec.loader.exec_module(module)
        return module
    if os.getcwd() not in sys.path:  # like `python -m`: the user's modules are where they are
        sys.path.insert(0, os.getcwd())
    try:
        return importlib.import_module(target)
    except ModuleNotFoundError as error:
        if error.name and target.startswith(error.name):
            raise ConfigurationError(f"--module {target}: no such module") from None
        raise


def discover(target: str) -> Found:
    """The workflows and the App defined by the module ``target``.

    Workflows are its top-level attributes defined with ``@romancy.workflow`` (imported
    ones count), in definition order; more than one App is an error.
    """
    try:
        module = import_target(target)
    except RomancyError:
        raise
    except Exception as error:  # the user's module failed: say which, not a traceback
        raise ConfigurationError(f"importing module {target} failed: {describe(error)}") from error
    values = list(vars(module).values())
    workflows: list[Workflow[Any, Any]] = []
    for value in values:
        if isinstance(value, Workflow) and value not in workflows:
            workflows.append(value)
    if not workflows:
        raise ConfigurationError(
            f"module {target} defines no workflow (nothing decorated with @romancy.workflow)"
        )
    apps = [value for value in values if isinstance(value, App)]
    if len(apps) > 1:
        raise ConfigurationError(f"module {target} defines {len(apps)} Apps; keep one")
    return Found(module, workflows, apps[0] if apps else None)
