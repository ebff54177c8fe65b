"""``python -m crosstest``: the romancy-py crosstest program."""

from .cli import main

raise SystemExit(main())
