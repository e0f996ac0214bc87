"""AIGC Studio: train generative models on your own images, copy and voice, offline.

The package is split in layers (see ARCHITECTURE.md): ``studio.core`` is plain Python/torch and never
imports Qt, ``studio.workers`` runs core jobs on QThreads, and ``studio.ui`` holds the widgets.
"""

import time

# The earliest moment our code runs; start-up time is measured from here to the window being shown.
STARTED_AT = time.perf_counter()

__version__ = "0.1.0"
APP_NAME = "AIGC Studio"
APP_ID = "aigc-studio"
