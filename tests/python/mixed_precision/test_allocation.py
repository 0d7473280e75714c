"""The bit allocator: exact optimum (against brute force), both budgets, both solvers, bad input."""

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edgequant import coding
from edgequant.mixed_precision import (
    achieved_bits_per_weight,
    allocate_bits,
    coded_weight_bytes,
    list_components,
    quantize_weight_codes,
    total_cost,
)
from edgequant.mixed_precision import allocation as allocation_module
from edgequant.zoo import model_path


def brute_force(costs, weights, budget, choices):
    """The least total cost over every assignment within the budget (None if none fits)."""
    names = list(costs)
    best = None
    for picks in itertools.product(choices, repeat=len(names)):
        if sum(weights[n][b] for n, b in zip(names, picks, strict=True)) > budget:
            continue
        cost = sum(costs[n][b] for n, b in zip(names, picks, strict=True))
        best = cost if best is None else min(best, cost)
    return best


@st.composite
def instances(draw):
    choices = tuple(sorted(draw(st.sets(st.sampled_from([2, 3, 4, 5, 8]), min_size=1, max_size=3))))
    count = draw(st.integers(1, 5))
    names = [f"layer{k}" for k in range(count)]
    sizes = {n: draw(st.integers(1, 40)) for n in names}
    cost = st.floats(-1.0, 10.0, allow_nan=False, width=32)
    costs = {n: {b: draw(cost) for b in choices} for n in names}
    total = sum(sizes.values())
    lowest, highest = min(choices) * total, max(choices) * total
    budget_bits = draw(st.integers(lowest, highest + 3))
    return costs, sizes, choices, budget_bits


@settings(max_examples=150, deadline=None)
@given(instances())
def test_bits_budget_optimum_equals_brute_force(instance):
    costs, sizes, choices, budget_bits = instance
    total = sum(sizes.values())
    budget = budget_bits / total
    chosen = allocate_bits(costs, sizes, budget_bits_per_weight=budget, choices=choices)
    allowed = math.floor(budget * total + 1e-9)  # the float budget's bits, as the allocator reads it
    weights = {n: {b: sizes[n] * b for b in choices} for n in costs}
    assert sum(sizes[n] * chosen[n] for n in chosen) <= allowed
    assert total_cost(costs, chosen) == pytest.approx(brute_force(costs, weights, allowed, choices), abs=1e-9)


@settings(max_examples=80, deadline=None)
@given(instances(), st.data())
def test_bytes_budget_optimum_equals_brute_force_with_both_solvers(instance, data):
    costs, _, choices, _ = instance
    coded = {n: {b: data.draw(st.integers(0, 60)) for b in choices} for n in costs}
    lowest = sum(min(row.values()) for row in coded.values())
    budget = data.draw(st.integers(lowest, lowest + 120))
    sizes = {n: 1 for n in costs}
    expected = brute_force(costs, coded, budget, choices)
    chosen = allocate_bits(costs, sizes, budget_bytes=budget, choices=choices, coded_bytes=coded)
    assert sum(coded[n][chosen[n]] for n in chosen) <= budget
    assert total_cost(costs, chosen) == pytest.approx(expected, abs=1e-9)


def test_integer_program_path_is_exact(monkeypatch):
    rng = np.random.default_rng(3)
    names = [f"c{k}" for k in range(6)]
    sizes = {n: int(rng.integers(1, 30)) for n in names}
    costs = {n: {2: float(rng.uniform(1, 5)), 4: float(rng.uniform(0, 1)), 8: float(rng.uniform(0, 0.1))}
             for n in names}
    weights = {n: {b: sizes[n] * b for b in (2, 4, 8)} for n in names}
    budget = 4.2
    allowed = math.floor(budget * sum(sizes.values()))
    monkeypatch.setattr(allocation_module, "_MAX_DP_CELLS", 0)  # force the ILP
    by_ilp = allocate_bits(costs, sizes, budget_bits_per_weight=budget)
    assert total_cost(costs, by_ilp) == pytest.approx(brute_force(costs, weights, allowed, (2, 4, 8)), abs=1e-9)
    monkeypatch.undo()
    assert total_cost(costs, allocate_bits(costs, sizes, budget_bits_per_weight=budget)) == pytest.approx(
        total_cost(costs, by_ilp), abs=1e-9)


def test_not_greedy_on_a_case_greedy_gets_wrong():
    # Greedy by cost saved per bit upgrades "a" first (0.9/2 bits per weight) and then cannot afford "b".
    sizes = {"a": 1, "b": 2}
    costs = {"a": {2: 1.0, 4: 0.1}, "b": {2: 1.6, 4: 0.0}}
    chosen = allocate_bits(costs, sizes, budget_bits_per_weight=10 / 3, choices=(2, 4))
    assert chosen == {"a": 2, "b": 4}
    assert achieved_bits_per_weight(chosen, sizes) == pytest.approx(10 / 3)


def test_decimal_budget_is_read_as_written():
    sizes = {"a": 10}
    costs = {"a": {2: 1.0, 3: 0.5, 4: 0.0}}
    # 3.3 bits/weight of 10 weights is 33 bits: 3 bits fit, 4 do not
    assert allocate_bits(costs, sizes, budget_bits_per_weight=3.3, choices=(2, 3, 4)) == {"a": 3}


def test_bytes_budget_with_the_coder_on_the_digits_model():
    path = model_path()
    components = list_components(path)
    coded = coded_weight_bytes(path, components, (2, 4, 8))
    first = components[0]
    from edgequant.mixed_precision.losses import float_weights

    values = float_weights(path, [first.tensor])[first.tensor]
    assert coded[first.name][4] == len(coding.encode(quantize_weight_codes(values, 4, first.axis)[0]))
    for component in components:
        assert coded[component.name][2] < coded[component.name][4] < coded[component.name][8]
    costs = {c.name: {2: 3.0, 4: 1.0, 8: 0.0} for c in components}
    sizes = {c.name: c.size for c in components}
    budget = sum(row[4] for row in coded.values())
    chosen = allocate_bits(costs, sizes, budget_bytes=budget, coded_bytes=coded)
    assert sum(coded[n][b] for n, b in chosen.items()) <= budget
    assert total_cost(costs, chosen) <= total_cost(costs, {n: 4 for n in costs})


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"budget_bits_per_weight": 1.5}, r"gives 45 bits for 30 weights, below the minimum 60 bits \(2.0000"),
    ({"budget_bits_per_weight": -1}, "must be > 0"),
    ({"budget_bits_per_weight": float("nan")}, "must be finite"),
    ({}, "exactly one of"),
    ({"budget_bits_per_weight": 4, "budget_bytes": 10}, "exactly one of"),
    ({"budget_bytes": 10}, "needs coded_bytes"),
    ({"budget_bytes": 10, "coded_bytes": {"a": {2: 6, 4: 9, 8: 12}, "b": {2: 5, 4: 7, 8: 9}}},
     "budget_bytes=10 is below the minimum 11 coded bytes"),
    ({"budget_bits_per_weight": 4, "choices": (2, 4, 16, 32)}, "choices"),
    ({"budget_bits_per_weight": 4, "choices": (2, 3)}, r"has no cost for 3 bits \(it has \[2, 4, 8\]\)"),
])
def test_bad_budgets_and_choices(kwargs, message):
    costs = {"a": {2: 1.0, 4: 0.5, 8: 0.0}, "b": {2: 1.0, 4: 0.5, 8: 0.0}}
    with pytest.raises(ValueError, match=message):
        allocate_bits(costs, {"a": 10, "b": 20}, **kwargs)


@pytest.mark.parametrize(("costs", "sizes", "message"), [
    ({}, {}, "costs is empty"),
    ({"a": {2: 1.0, 4: 0.0, 8: 0.0}}, {"a": -3}, "positive integer weight count, got -3"),
    ({"a": {2: 1.0, 4: 0.0, 8: 0.0}}, {"a": 2.5}, "positive integer weight count"),
    ({"a": {2: 1.0, 4: 0.0, 8: 0.0}}, {"b": 3}, r"only in costs \['a'\], only in sizes \['b'\]"),
    ({"a": {2: float("inf"), 4: 0.0, 8: 0.0}}, {"a": 3}, "not finite"),
])
def test_bad_costs_and_sizes(costs, sizes, message):
    with pytest.raises(ValueError, match=message):
        allocate_bits(costs, sizes, budget_bits_per_weight=4)
