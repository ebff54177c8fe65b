"""``python -m romancy`` runs the command line."""

from romancy.cli import main

raise SystemExit(main())
