"""Entry point of ``python -m bench`` (what ``nox -s bench`` runs)."""

import sys

from bench.run import main

sys.exit(main())
