"""``python -m fastmade``: the same as the ``fastmade`` command."""

import sys

from .cli import main

sys.exit(main())
