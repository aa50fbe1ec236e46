"""`python -m xmr_gui.cli ARGS`: the same as `xmr ARGS`."""

import sys

from . import main

sys.exit(main())
