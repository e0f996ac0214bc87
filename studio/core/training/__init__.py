"""Training: the shared engine, the family table (model families), run folders, checkpoints, devices.

Cheap to import (no torch): ``families`` and ``runs`` are plain Python so the Training panel can build its
forms and list runs at start-up; torch loads when a :class:`TrainJob` runs or :func:`estimate` is called.

    from studio.core.training import TrainJob, estimate, families, runs
"""

from studio.core.training import families, runs
from studio.core.training.estimation import estimate
from studio.core.training.job import TrainJob

__all__ = ["TrainJob", "estimate", "families", "runs"]
