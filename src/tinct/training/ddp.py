"""Data-parallel training glue: ``torch.distributed`` set-up, rank helpers, DDP wrapping.

``tinct train`` runs data-parallel when it is started by ``torchrun`` (which sets ``RANK``,
``WORLD_SIZE``, ``LOCAL_RANK`` and the rendezvous variables)::

    torchrun --nproc_per_node=2 -m tinct train DATA --out RUN --preset cpu

Each rank draws the *same* global batch of ``batch_size`` photos and augmentations (a function
of the seed and the step, :func:`tinct.training.data.training_batch`) and trains on its own
slice ``crops[rank::world_size]``, so a checkpoint written by rank 0 resumes every rank and
the averaged gradient is that of the whole batch. Only rank 0 evaluates, writes metrics and
checkpoints; a stop (early stopping, time budget, SIGINT/SIGTERM on any rank) is agreed on by
all ranks every step. Backend: NCCL with one GPU per rank when the node has a GPU for every
local rank, else gloo on CPU.

Outside ``torchrun`` every helper is a no-op and :data:`SINGLE` describes the one process.
"""

from __future__ import annotations

import atexit
import hashlib
import logging
import os
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Dist:
    """Where this process stands in a (possibly one-process) training job."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    backend: str = ""  # "" = not distributed, else "gloo" or "nccl"
    device: str = "cpu"

    @property
    def active(self) -> bool:
        return bool(self.backend)

    @property
    def main(self) -> bool:
        """Rank 0: the process that evaluates and writes files."""
        return self.rank == 0


SINGLE = Dist()


def launched() -> bool:
    """True when this process was started by torchrun (or another env:// launcher)."""
    return all(k in os.environ for k in ("RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT"))


def init() -> Dist:
    """Join the process group when launched by torchrun (once per process), else :data:`SINGLE`."""
    if not launched():
        return SINGLE
    import torch
    import torch.distributed as td

    local_rank = int(os.environ.get("LOCAL_RANK", 0))
    local_world = int(os.environ.get("LOCAL_WORLD_SIZE", 1))
    use_gpu = torch.cuda.is_available() and torch.cuda.device_count() >= local_world
    backend = "nccl" if use_gpu else "gloo"
    device = f"cuda:{local_rank}" if use_gpu else "cpu"
    if not td.is_initialized():
        if use_gpu:
            torch.cuda.set_device(local_rank)
        td.init_process_group(backend=backend)
        atexit.register(cleanup)
    dist = Dist(rank=td.get_rank(), world_size=td.get_world_size(), local_rank=local_rank, backend=backend,
                device=device)
    if not dist.main:  # one voice in the log: rank 0's
        logging.getLogger("tinct").setLevel(logging.WARNING)
    log.info("distributed: %d ranks, backend %s", dist.world_size, backend)
    return dist


def cleanup() -> None:
    """Leave the process group (registered with atexit by :func:`init`)."""
    import torch.distributed as td

    if td.is_available() and td.is_initialized():
        td.destroy_process_group()


def rank() -> int:
    """This process's rank (0 outside torchrun); safe to call anywhere."""
    import torch.distributed as td

    if td.is_available() and td.is_initialized():
        return td.get_rank()
    return int(os.environ.get("RANK", 0))


def wrap(model: Any, dist: Dist) -> Any:
    """``DistributedDataParallel(model)`` when distributed, else ``model`` itself."""
    if not dist.active:
        return model
    from torch.nn.parallel import DistributedDataParallel

    return DistributedDataParallel(model, device_ids=[dist.local_rank] if dist.backend == "nccl" else None)


def check_batch_size(batch_size: int, dist: Dist) -> None:
    if batch_size % dist.world_size:
        raise ValueError(f"batch_size {batch_size} must be a multiple of the {dist.world_size} ranks "
                         "(it is the global batch, split evenly)")


def any_rank(flag: bool, dist: Dist) -> bool:
    """True on every rank if ``flag`` is true on any rank (a collective: all ranks must call it)."""
    if not dist.active:
        return flag
    import torch
    import torch.distributed as td

    t = torch.tensor([1.0 if flag else 0.0], device=dist.device)
    td.all_reduce(t, op=td.ReduceOp.MAX)
    return bool(t.item())


def mean_over_ranks(value: float, dist: Dist) -> float:
    """The mean of ``value`` over the ranks (a collective)."""
    if not dist.active:
        return value
    import torch
    import torch.distributed as td

    t = torch.tensor([value], dtype=torch.float64, device=dist.device)
    td.all_reduce(t, op=td.ReduceOp.SUM)
    return float(t.item()) / dist.world_size


def state_digest(model: Any, *, buffers: bool = True) -> str:
    """sha256 of a model's parameters (and buffers): names, dtypes, shapes and bytes."""
    import torch

    tensors = dict(model.named_parameters())
    if buffers:
        tensors.update(model.named_buffers())
    h = hashlib.sha256()
    for name, tensor in sorted(tensors.items()):
        t = tensor.detach().cpu().contiguous().reshape(-1)
        h.update(f"{name}:{t.dtype}:{tuple(tensor.shape)}".encode())
        h.update(t.view(torch.uint8).numpy().tobytes())
    return h.hexdigest()


def weights_in_sync(model: Any, dist: Dist) -> bool:
    """Whether every rank holds bit-identical parameters (a collective; True outside torchrun).

    Buffers (BatchNorm running statistics) are left out: DDP copies rank 0's to every rank
    at the start of each forward pass, so after the last step each rank holds the statistics
    of its own last slice; the checkpoint keeps rank 0's.
    """
    if not dist.active:
        return True
    import torch
    import torch.distributed as td

    digest = int(state_digest(model, buffers=False)[:15], 16)  # fits an int64
    mine = torch.tensor([digest], dtype=torch.int64, device=dist.device)
    everyone = [torch.zeros_like(mine) for _ in range(dist.world_size)]
    td.all_gather(everyone, mine)
    return all(int(t.item()) == digest for t in everyone)


__all__ = ["Dist", "SINGLE", "launched", "init", "cleanup", "rank", "wrap", "check_batch_size",
           "any_rank", "mean_over_ranks", "state_digest", "weights_in_sync"]
