"""Which training items each step uses: a seeded permutation per epoch, sharded over DDP ranks.

The order is a pure function of (seed, epoch), so the sampler's whole state is two integers — a resumed run
draws exactly the batches the uninterrupted run would have. Batches are index arrays: the recipe gathers the
rows from the uint8 memmap in one fancy index and converts them to float on the device, so no loader
processes are needed and data never waits on Python per item.
"""

from __future__ import annotations

import numpy as np


class EpochSampler:
    """Yields, per step, the positions (into the training items) of this rank's share of the global batch.

    Each step consumes ``batch_size * world_size`` positions of the current epoch's permutation; rank ``r``
    takes the ``r``-th slice. An epoch ends when fewer than that remain (the tail is skipped, so every step
    has a full batch; a dataset smaller than one global batch repeats items within the step instead).
    """

    def __init__(self, size: int, batch_size: int, seed: int, rank: int = 0, world_size: int = 1) -> None:
        self.size, self.batch_size, self.seed = size, batch_size, seed
        self.rank, self.world_size = rank, world_size
        self.epoch, self.position = 0, 0
        self._order: np.ndarray | None = None

    @property
    def global_batch(self) -> int:
        return self.batch_size * self.world_size

    def _permutation(self) -> np.ndarray:
        if self._order is None:
            rng = np.random.default_rng([self.seed, self.epoch])
            order = rng.permutation(self.size)
            if self.size < self.global_batch:  # tiny dataset: tile it so one step still has a full batch
                order = np.resize(order, self.global_batch)
            self._order = order
        return self._order

    def next(self) -> np.ndarray:
        """This rank's positions for the next step, shape (batch_size,)."""
        order = self._permutation()
        if self.position + self.global_batch > len(order):
            self.epoch, self.position, self._order = self.epoch + 1, 0, None
            order = self._permutation()
        start = self.position + self.rank * self.batch_size
        self.position += self.global_batch
        return order[start : start + self.batch_size]

    @property
    def epoch_float(self) -> float:
        """Epochs done, fractional (for the log and the curve's x axis)."""
        return self.epoch + self.position / max(1, len(self._permutation()))

    def state_dict(self) -> dict:
        return {"epoch": self.epoch, "position": self.position}

    def load_state_dict(self, state: dict) -> None:
        self.epoch, self.position, self._order = int(state["epoch"]), int(state["position"]), None
