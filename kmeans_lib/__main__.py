"""``python -m kmeans_lib``: the ``kmeans-colours`` command line."""

import sys

from kmeans_lib.cli import main

if __name__ == "__main__":  # not when a worker process imports this module as __mp_main__
    sys.exit(main())
