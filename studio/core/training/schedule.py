"""Learning-rate schedule: linear warmup, then cosine decay to ``lr * min_lr_ratio``.

A pure function of the step (times a scale the NaN rollback lowers), not a stateful torch scheduler: the
only state to checkpoint is that scale, so a resumed run is exactly on the same curve.
"""

from __future__ import annotations

import math


def lr_factor(step: int, total_steps: int, warmup_steps: int, min_lr_ratio: float) -> float:
    """The multiplier of the base learning rate for optimizer step ``step`` (0-based)."""
    if warmup_steps > 0 and step < warmup_steps:
        return (step + 1) / warmup_steps
    span = max(1, total_steps - warmup_steps)
    progress = min(1.0, (step - warmup_steps) / span)
    return min_lr_ratio + (1.0 - min_lr_ratio) * 0.5 * (1.0 + math.cos(math.pi * progress))


class Schedule:
    """Sets every optimizer's learning rate each step; ``scale`` is lowered after a NaN rollback."""

    def __init__(self, optimizers: dict, total_steps: int, warmup_steps: int, min_lr_ratio: float) -> None:
        self.optimizers = optimizers
        self.total_steps, self.warmup_steps, self.min_lr_ratio = total_steps, warmup_steps, min_lr_ratio
        self.scale = 1.0
        for optimizer in optimizers.values():
            for group in optimizer.param_groups:
                group.setdefault("initial_lr", group["lr"])  # the base lr, saved with the optimizer's state

    def apply(self, step: int) -> float:
        """Set the learning rates for ``step``; returns the first group's value (for the log)."""
        factor = self.scale * lr_factor(step, self.total_steps, self.warmup_steps, self.min_lr_ratio)
        first = None
        for optimizer in self.optimizers.values():
            for group in optimizer.param_groups:
                group["lr"] = group["initial_lr"] * factor
                first = group["lr"] if first is None else first
        return float(first or 0.0)

    def state_dict(self) -> dict:
        return {"scale": self.scale, "total_steps": self.total_steps}

    def load_state_dict(self, state: dict) -> None:
        self.scale = float(state["scale"])
