"""`python -m simulators up|dataset`."""

from simulators.cli import main

raise SystemExit(main())
