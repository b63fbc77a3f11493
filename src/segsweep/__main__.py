"""``python -m segsweep`` = the ``segsweep`` console script (used by the Snakemake rules,
which must work inside a ``--use-conda`` environment where only the dependencies are
installed)."""

import sys

from segsweep.cli import main

sys.exit(main())
