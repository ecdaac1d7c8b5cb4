"""``python -m training train|evaluate ...``: the same as ``convlab train|evaluate ...``."""

import sys

from training.cli import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
