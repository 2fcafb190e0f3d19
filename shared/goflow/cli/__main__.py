"""``python -m goflow.cli``."""

from goflow.cli import main

raise SystemExit(main())
