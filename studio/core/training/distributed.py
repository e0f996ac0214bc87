"""Several processes, one run: ``torchrun --nproc-per-node N -m studio train ...``.

torchrun sets RANK / WORLD_SIZE / LOCAL_RANK / MASTER_ADDR / MASTER_PORT; :func:`setup` joins the process
group (NCCL on CUDA, gloo on CPU) and picks this rank's device. Every rank builds the same models from the
same seed and DDP broadcasts rank 0's weights anyway; each rank trains on its own slice of every global
batch (see :class:`studio.core.training.data.EpochSampler`). Only rank 0 writes files; decisions that must
agree (run id, resume point, "the loss is NaN") are broadcast or reduced so every rank takes the same branch.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class DistInfo:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def from_environment() -> DistInfo:
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistInfo()
    return DistInfo(int(os.environ.get("RANK", "0")), world, int(os.environ.get("LOCAL_RANK", "0")))


def setup(device: torch.device) -> tuple[DistInfo, torch.device]:
    """Join the process group when started by torchrun; returns this rank's info and device."""
    info = from_environment()
    if not info.enabled:
        return info, device
    if device.type == "cuda":
        device = torch.device("cuda", info.local_rank)
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    if device.type == "cpu":  # N processes share the cores: oversubscribed threads make every rank slower
        local_world = int(os.environ.get("LOCAL_WORLD_SIZE", str(info.world_size)))
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // local_world))
    return info, device


def shutdown(info: DistInfo) -> None:
    if info.enabled and dist.is_initialized():
        dist.destroy_process_group()


def broadcast(info: DistInfo, value):
    """Rank 0's ``value`` on every rank (any picklable object; used for small things such as the run id)."""
    if not info.enabled:
        return value
    box = [value if info.is_main else None]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def any_rank(info: DistInfo, flag: bool, device: torch.device) -> bool:
    """True on every rank when ``flag`` is true on any rank (e.g. one rank saw a NaN loss)."""
    if not info.enabled:
        return flag
    value = torch.tensor([1.0 if flag else 0.0], device=device)
    dist.all_reduce(value, op=dist.ReduceOp.MAX)
    return bool(value.item() > 0)


def barrier(info: DistInfo) -> None:
    if info.enabled:
        dist.barrier()
