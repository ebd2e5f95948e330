"""`python -m bpo` runs the `bpo` command."""

import sys

from bpo.cli import main

if __name__ == "__main__":
    sys.exit(main())
