"""``python -m kmeans_lib`` and the ``kmeans-colours`` script: the command line."""

import gc
import sys


def run() -> int:
    """Import the command line and run it on this process's arguments; the exit code.

    Importing scikit-learn, SciPy and pandas makes hundreds of thousands of objects
    that live as long as the process. The garbage collector is paused while they
    are made, then told to leave them alone (:func:`gc.freeze`), so that no
    collection walks them: collecting while they piled up took 0.16 s of every
    command's start (``import kmeans_lib.cli`` in 0.88 s instead of 1.05 s here),
    and the interpreter's last collections at exit 0.15 s more. The workers of a
    forked pool also share those pages instead of copying them, as Python's
    documentation of ``gc.freeze`` advises before a fork.
    """
    gc.disable()
    try:
        from kmeans_lib.cli import main

        gc.freeze()
    finally:
        gc.enable()
    return main()


if __name__ == "__main__":  # not when a worker process imports this module as __mp_main__
    sys.exit(run())
