"""Arena planning: every activation gets a byte offset in one static arena, decided at export time.

Buffers whose lifetimes (first write .. last read, in layer order) do not overlap may share bytes.
Placement is greedy, largest buffer first, each at the lowest offset that clashes with no placed
buffer alive at the same time (the strategy of TFLite Micro's greedy planner). Reshapes (kernels
registered with ``alias``) alias their input; the graph input is read where the caller keeps it,
and the graph output is written straight into the caller's buffer, so neither takes arena space."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .kernels import KERNELS

ALIGNMENT = 16  # bytes; room for the SIMD kernels that will read these buffers


@dataclass
class Buffer:
    """Activations sharing storage (a reshape chain), their lifetime and where they live."""

    members: list
    size: int
    first: int  # layer that writes it (-1: before the first layer)
    last: int  # last layer that reads it
    storage: str = "arena"  # "arena", "input" or "output"
    offset: int = 0


@dataclass
class ArenaPlan:
    """Where each activation lives. ``location[a]`` is ``(storage, offset)``."""

    buffers: list
    location: dict
    arena_size: int
    live_bytes: list  # per layer: arena bytes of the buffers alive while it runs
    aliased: set  # layer indices whose reshape became an alias (no code)
    scratch: dict  # layer index -> arena offset of its scratch buffer

    def largest(self, graph, count: int = 3) -> list:
        """The ``count`` largest arena buffers as (activation name, bytes)."""
        arena = sorted((b for b in self.buffers if b.storage == "arena"), key=lambda b: -b.size)
        return [(graph.activations[b.members[0]].name, b.size) for b in arena[:count]]


def _align(n: int) -> int:
    return (n + ALIGNMENT - 1) // ALIGNMENT * ALIGNMENT


def plan_arena(graph, extra_scratch=None) -> ArenaPlan:
    """Plan the arena of an :class:`~.graph.IntegerGraph`.

    Parameters
    ----------
    graph : IntegerGraph
    extra_scratch : dict, optional
        layer index -> bytes of scratch that layer needs while it runs (decoded weights with
        ``--coded-weights``); each gets its own buffer alive during that layer only.
    """
    group = list(range(len(graph.activations)))

    def find(a):
        while group[a] != a:
            group[a] = group[group[a]]
            a = group[a]
        return a

    aliased = set()
    for i, layer in enumerate(graph.layers):
        if KERNELS[layer.kind].alias and graph.output not in (layer.output, layer.inputs[0]):
            group[find(layer.output)] = find(layer.inputs[0])
            aliased.add(i)
    first = {a: (-1 if a == graph.input else None) for a in range(len(graph.activations))}
    last = dict.fromkeys(range(len(graph.activations)), -1)
    for i, layer in enumerate(graph.layers):
        if first[layer.output] is None:
            first[layer.output] = i
        for a in layer.inputs:
            last[a] = i
    last[graph.output] = len(graph.layers)
    buffers, by_root = [], {}
    for a, activation in enumerate(graph.activations):
        root = find(a)
        if root not in by_root:
            by_root[root] = Buffer([], 0, len(graph.layers), -1)
            buffers.append(by_root[root])
        b = by_root[root]
        b.members.append(a)
        b.size = max(b.size, activation.size)
        b.first = min(b.first, first[a] if first[a] is not None else len(graph.layers))
        b.last = max(b.last, last[a], b.first)
        if a == graph.input:
            b.storage = "input"
        elif a == graph.output:
            b.storage = "output"
    scratch_buffers = {}
    for i, nbytes in sorted((extra_scratch or {}).items()):
        scratch_buffers[i] = Buffer([], int(nbytes), i, i)
        buffers.append(scratch_buffers[i])
    placed = []
    for b in sorted((b for b in buffers if b.storage == "arena" and b.size > 0), key=lambda b: (-b.size, b.first)):
        clashes = sorted((p for p in placed if p.first <= b.last and b.first <= p.last), key=lambda p: p.offset)
        offset = 0
        for p in clashes:
            if offset + b.size <= p.offset:
                break
            offset = max(offset, _align(p.offset + p.size))
        b.offset = offset
        placed.append(b)
    arena_size = _align(max((b.offset + b.size for b in placed), default=0))
    live = [int(sum(b.size for b in placed if b.first <= i <= b.last)) for i in range(len(graph.layers))]
    location = {a: (b.storage, b.offset) for b in buffers for a in b.members}
    scratch = {i: b.offset for i, b in scratch_buffers.items()}
    return ArenaPlan(buffers, location, arena_size, live, aliased, scratch)


def check_plan(graph, plan: ArenaPlan) -> None:
    """Assert no two arena buffers alive at once overlap (used by the tests)."""
    arena = [b for b in plan.buffers if b.storage == "arena" and b.size > 0]
    for i, a in enumerate(arena):
        assert a.offset % ALIGNMENT == 0 and a.offset + a.size <= plan.arena_size
        for b in arena[i + 1:]:
            if a.first <= b.last and b.first <= a.last:
                assert a.offset + a.size <= b.offset or b.offset + b.size <= a.offset, (a, b)
    assert np.all(np.asarray(plan.live_bytes) <= plan.arena_size)
