"""``python -m crosstest``: the romancy-py crosstest program."""

from crosstest.cli import main

raise SystemExit(main())
