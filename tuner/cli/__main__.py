"""``python -m tuner.cli``: the ``tuner`` command."""

import sys

from . import main

if __name__ == "__main__":
    sys.exit(main())
