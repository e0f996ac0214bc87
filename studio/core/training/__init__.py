"""Training: the shared engine, recipes (model families), run folders, checkpoints, devices.

Cheap to import (no torch): ``recipes`` and ``runs`` are plain Python so the Training panel can build its
forms and list runs at start-up; torch loads when a :class:`TrainJob` runs or :func:`estimate` is called.

    from studio.core.training import TrainJob, estimate, recipes, runs
"""

from studio.core.training import recipes, runs
from studio.core.training.estimation import estimate
from studio.core.training.job import TrainJob

__all__ = ["TrainJob", "estimate", "recipes", "runs"]
