"""Flash and RAM budgets: a model that does not fit fails at export time, naming what is large."""

from __future__ import annotations


class BudgetExceededError(ValueError):
    """The exported model needs more flash or RAM than the budget given."""


def check_budgets(graph, plan, flash_bytes: int, flash_kb=None, ram_kb=None) -> None:
    """Raise :class:`BudgetExceededError` if the constants exceed ``flash_kb`` or the arena ``ram_kb``.

    Flash counts the model's constant data (weights, biases, multipliers, parameter blocks), not the
    kernels' code (a few KB; see the footprint table in benchmarks/RESULTS.md). RAM counts the arena;
    the caller's input and output buffers are its own.
    """
    problems = []
    for label, value in (("flash_kb", flash_kb), ("ram_kb", ram_kb)):
        if value is not None and (not isinstance(value, (int, float)) or value <= 0):
            raise ValueError(f"{label} must be a positive number, got {value!r}")
    if flash_kb is not None and flash_bytes > flash_kb * 1024:
        largest = sorted(((layer.name, name, array.nbytes) for layer in graph.layers
                          for name, array in layer.constants.items()), key=lambda t: -t[2])[:3]
        listing = ", ".join(f"{layer}.{name} {nbytes:,} B" for layer, name, nbytes in largest)
        problems.append(f"the constants need {flash_bytes:,} B of flash, over the {flash_kb:g} KB budget "
                        f"({flash_kb * 1024:,.0f} B); largest: {listing}")
    if ram_kb is not None and plan.arena_size > ram_kb * 1024:
        listing = ", ".join(f"{name!r} {nbytes:,} B" for name, nbytes in plan.largest(graph))
        problems.append(f"the arena needs {plan.arena_size:,} B of RAM, over the {ram_kb:g} KB budget "
                        f"({ram_kb * 1024:,.0f} B); largest activations: {listing}")
    if problems:
        raise BudgetExceededError("the model does not fit: " + "; ".join(problems))
