"""The one in-place edit of every weight-changing callback: snapshot, change, decide, broadcast, reset.

:func:`edit_in_place` runs a change on the model's own tensors and guarantees, on every rank:

1. a failure anywhere (the change raises on any rank, the decision raises, the broadcast or the
   copy of what it brought raises on any rank) restores the exact original tensors on every rank
   and re-raises with what failed; after the change and again after the broadcast, every rank
   learns whether all ranks succeeded (``strategy.reduce_boolean_decision``), so no rank waits in a
   collective that another rank will never reach and no rank keeps a change another one undid;
2. a rejected change is undone exactly (the snapshot is copied back);
3. every rank ends with rank zero's tensors and decision (one ``strategy.broadcast``, reached by
   every rank), so ranks stay identical even if their arithmetic differed in the last bit;
4. the optimizer state (Adam's moments, momentum) of what changed is reset, so stale moments do not
   undo the change: ``reset="entries"`` zeroes the state of the changed entries (compression: some
   neurons removed or rescaled), ``reset="tensors"`` drops the whole state of every changed tensor,
   step count included, as for a new parameter (polishing: a refit replaces whole layers).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Literal, TypeVar

import torch

from lightning_poly._compat import destroy_process_group_at_exit

if TYPE_CHECKING:
    import pytorch_lightning as pl

__all__ = ["Reset", "edit_in_place", "reset_optimizer_state"]

T = TypeVar("T")


Reset = Literal["entries", "tensors"]


@torch.no_grad()
def reset_optimizer_state(
    optimizers: Sequence[torch.optim.Optimizer],
    tensors: Sequence[torch.Tensor],
    changed: Sequence[torch.Tensor],
    reset: Reset = "entries",
) -> None:
    """Reset the optimizer state of what ``changed`` marks: per entry, or whole tensors (see the module docstring).

    Args:
        optimizers: the Trainer's optimizers.
        tensors: the tensors that may have changed.
        changed: one bool mask per tensor, the entries that changed.
        reset: ``"entries"`` or ``"tensors"``.
    """
    for opt in optimizers:
        for t, where in zip(tensors, changed):
            state = opt.state.get(t)
            if not state or not bool(where.any()):
                continue
            if reset == "tensors":
                opt.state.pop(t, None)
                continue
            for value in state.values():
                if isinstance(value, torch.Tensor) and value.shape == t.shape:
                    value[where] = 0


def _restore(tensors: Sequence[torch.Tensor], snapshot: Sequence[torch.Tensor]) -> None:
    with torch.no_grad():
        for t, s in zip(tensors, snapshot):
            t.copy_(s)


def edit_in_place(
    trainer: pl.Trainer,
    tensors: Sequence[torch.Tensor],
    change: Callable[[], T],
    accept: Callable[[T], bool] = lambda _: True,
    changed_entries: Callable[[Sequence[torch.Tensor]], Sequence[torch.Tensor]] | None = None,
    what: str = "the change",
    reset: Reset = "entries",
) -> tuple[T, bool]:
    """Apply ``change()`` to ``tensors`` in place with the guarantees of the module docstring.

    Args:
        trainer: the Trainer (its strategy runs the collectives; its optimizers are reset).
        tensors: every tensor the change may write (parameters and buffers such as masks).
        change: does the work in place and returns a result (e.g. a report).
        accept: decides from the result whether to keep the change (rank zero's decision counts).
        changed_entries: from the snapshot, a bool mask per tensor of the entries whose optimizer state
            must be reset; default: the entries whose value changed.
        what: named in the error when something fails.
        reset: ``"entries"`` or ``"tensors"``: how the optimizer state of what changed is reset.

    Returns:
        ``(result, accepted)`` (the result of this rank's ``change``).

    Raises:
        RuntimeError: if the change failed on another rank (this rank's tensors are restored).
        Exception: what ``change`` or ``accept`` raised on this rank, after the restore.
    """
    snapshot = [t.detach().clone() for t in tensors]
    world = trainer.world_size
    if world > 1:
        destroy_process_group_at_exit()
    result: Any = None
    error: BaseException | None = None
    accepted = False
    try:
        result = change()
        accepted = bool(accept(result))
    except Exception as err:  # restored below, after every rank knows
        error = err
    all_ok = trainer.strategy.reduce_boolean_decision(error is None, all=True) if world > 1 else error is None
    if not all_ok:
        _restore(tensors, snapshot)
        if error is not None:
            raise error
        raise RuntimeError(f"{what} failed on another rank; this rank's tensors were restored")
    if not accepted:
        _restore(tensors, snapshot)
    if world > 1:  # every rank reaches both collectives
        failure: BaseException | None = None
        try:
            accepted, values = trainer.strategy.broadcast((accepted, [t.detach().cpu() for t in tensors]), src=0)
            with torch.no_grad():
                for t, v in zip(tensors, values):
                    t.copy_(v.to(t.device))
        except Exception as err:  # e.g. a rank that cannot unpickle or copy what it received
            failure = err
        if not trainer.strategy.reduce_boolean_decision(failure is None, all=True):
            _restore(tensors, snapshot)  # on every rank, so they stay identical
            where = "on this rank" if failure is not None else "on another rank"
            raise RuntimeError(f"the broadcast after {what} failed {where}; the tensors were restored") from failure
    if accepted:
        masks = (
            changed_entries(snapshot) if changed_entries is not None else [t != s for t, s in zip(tensors, snapshot)]
        )
        reset_optimizer_state(trainer.optimizers, tensors, masks, reset)
    return result, accepted
