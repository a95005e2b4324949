"""``python -m foley_edge ...``: the same as ``foley-edge ...``."""

import sys

from foley_edge.cli import main

sys.exit(main())
