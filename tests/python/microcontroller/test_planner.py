"""The arena planner: no two live buffers overlap, reuse happens, reshapes alias."""

import numpy as np
import pytest

from edgequant.microcontroller import plan_arena
from edgequant.microcontroller.planner import ALIGNMENT, check_plan


@pytest.mark.parametrize("name", ["resnet8", "vww", "kws"])
def test_plans_are_valid_and_reuse_memory(name, exported):
    report, _ = exported(name)
    graph, plan = report.graph, report.plan
    check_plan(graph, plan)
    arena_activations = [a for a in graph.activations if plan.location[a.index][0] == "arena"]
    total = sum(a.size for a in arena_activations)
    assert plan.arena_size < total / 2  # liveness-based reuse
    # never below the largest pair a layer needs at once
    assert plan.arena_size >= max(plan.live_bytes)
    assert plan.location[graph.input][0] == "input" and plan.location[graph.output][0] == "output"


def test_reshape_is_an_alias(exported):
    report, _ = exported("resnet8")
    reshapes = [i for i, layer in enumerate(report.graph.layers) if layer.kind == "reshape"]
    assert reshapes and set(reshapes) <= report.plan.aliased
    layer = report.graph.layers[reshapes[0]]
    assert report.plan.location[layer.output] == report.plan.location[layer.inputs[0]]


def test_scratch_buffers_get_their_own_space(exported):
    report, _ = exported("kws")
    plain = plan_arena(report.graph)
    scratch = plan_arena(report.graph, {0: 10_000, 3: 123})
    check_plan(report.graph, scratch)
    assert scratch.arena_size >= plain.arena_size
    assert scratch.arena_size % ALIGNMENT == 0
    assert np.all(np.asarray(scratch.live_bytes) >= np.asarray(plain.live_bytes))
