"""`python -m cms`: the same as the `cms` command."""

from .cli import main

raise SystemExit(main())
