"""Structured progress from the core: how many probe items one run has done, out of how many.

The core's progress callback takes messages; a display that can draw a bar also offers
`items_done(label, done, total)`, and the core counts items only for such a display.
"""
from __future__ import annotations

from collections.abc import Mapping
from contextlib import contextmanager


def _batch_size(value) -> int:
    """Rows of the first tensor in a forward's inputs (input_ids, or features of a dict)."""
    import torch

    if isinstance(value, torch.Tensor):
        return int(value.shape[0]) if value.dim() else 0
    items = value.values() if isinstance(value, Mapping) else value if isinstance(value, (list, tuple)) else ()
    for item in items:
        found = _batch_size(item)
        if found:
            return found
    return 0


def _per_batch_module(net):
    """A module called once per batch: sentence-transformers 3.x calls its Sequential's
    forward() directly, past the hooks, but each step inside is called normally."""
    from torch import nn

    if isinstance(net, nn.Sequential) and len(net):
        return net[0]
    return net


@contextmanager
def counting_items(net, label: str, total: int, progress):
    """While the model runs inside, tell the display after each batch how many items are done;
    nothing (no hook) when the display draws no bar."""
    report = getattr(progress, "items_done", None)
    if report is None:
        yield
        return
    done = [0]

    def count(module, args, kwargs, output) -> None:
        done[0] = min(total, done[0] + _batch_size((args, kwargs)))
        report(label, done[0], total)

    report(label, 0, total)
    handle = _per_batch_module(net).register_forward_hook(count, with_kwargs=True)
    try:
        yield
    finally:
        handle.remove()
