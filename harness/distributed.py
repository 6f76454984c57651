"""Sharding across processes started by ``torchrun`` or ``accelerate launch`` (both export RANK / WORLD_SIZE).

Rank 0 owns the results store: it decides which samples still need work and broadcasts them, every rank predicts
its shard, and per-sample records are gathered to rank 0, which writes them. Samples are sharded by position in
the to-do list, never cached by rank, so a run resumes with any number of processes.
"""

from __future__ import annotations

import atexit
import os
from dataclasses import dataclass


@dataclass(frozen=True)
class World:
    rank: int = 0
    size: int = 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def broadcast(self, obj):
        """rank 0's ``obj`` on every rank."""
        if self.size == 1:
            return obj
        import torch.distributed as dist

        box = [obj if self.is_main else None]
        dist.broadcast_object_list(box, src=0)
        return box[0]

    def gather(self, obj) -> list | None:
        """[obj of rank 0, obj of rank 1, ...] on rank 0; None elsewhere."""
        if self.size == 1:
            return [obj]
        import torch.distributed as dist

        out = [None] * self.size if self.is_main else None
        dist.gather_object(obj, out, dst=0)
        return out


def world_from_env() -> World:
    """The process group of a torchrun/accelerate launch (initialised once), or a single-process world."""
    size = int(os.environ.get("WORLD_SIZE", "1"))
    if size <= 1:
        return World()
    import torch.distributed as dist

    if not dist.is_initialized():
        # gloo even on GPU machines: only Python objects (records) cross processes, never tensors.
        dist.init_process_group(backend="gloo")
        atexit.register(_shutdown)
    return World(dist.get_rank(), dist.get_world_size())


def _shutdown() -> None:
    """Tear the process group down before the interpreter does: a rank that exits with gloo's threads still
    running aborts ("terminate called without an active exception", SIGABRT), failing a finished run."""
    import torch.distributed as dist

    if dist.is_initialized():
        dist.destroy_process_group()
