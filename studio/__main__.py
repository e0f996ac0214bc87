"""``python -m studio``: the same entry point as the ``aigc-studio`` command."""

import multiprocessing
import sys

from studio.cli import main

if __name__ == "__main__":
    # A frozen (PyInstaller) app re-executes itself for process pools; this must run first.
    multiprocessing.freeze_support()
    sys.exit(main())
