"""eq_quantizers: which points of the grid it parametrizes, their ids, and its errors."""

import pytest

from edgequant.model import PerChannelAffine
from edgequant.quantizers import Deadzone, Minifloat
from edgequant.sweep import default_grid, point
from edgequant.testing import eq_quantizers, point_levels, quantizer_id


def parametrized(mark):
    (argname,), values = mark.args[0].split(","), mark.args[1]
    return argname, values, mark.kwargs["ids"]


def test_deadzone_at_two_level_counts_gives_every_delta_with_readable_ids():
    argname, quantizers, ids = parametrized(eq_quantizers(methods=["deadzone"], levels=[16, 256]).mark)
    assert argname == "quantizer"
    assert ids == [f"deadzone-L{levels}-d{delta}" for delta in (0.1, 0.25, 0.4, 0.7) for levels in (16, 256)]
    assert quantizers[0] == Deadzone(levels=16, delta=0.1, xmax="max")


def test_deltas_filter_and_a_custom_argument_name():
    mark = eq_quantizers(methods="deadzone", levels=[16], deltas=[0.7], argname="q").mark
    argname, quantizers, ids = parametrized(mark)
    assert (argname, ids) == ("q", ["deadzone-L16-d0.7"])


def test_the_whole_grid_matches_the_sweep_grid():
    _, quantizers, ids = parametrized(eq_quantizers(max_bits=8).mark)
    grid = default_grid(max_bits=8)
    assert [q.spec()["method"] for q in quantizers] == [p["method"] for p in grid]
    assert len(set(ids)) == len(ids) == len(grid)
    assert "affine-int8-per-channel" in ids and "affine-int8" in ids and "minifloat-e4m3" in ids
    assert "minifloat-e5m10-ieee" in ids and "mulaw-L256" in ids
    assert isinstance(quantizers[ids.index("affine-int8-per-channel")], PerChannelAffine)


def test_levels_count_codes_of_affine_and_minifloat():
    _, quantizers, ids = parametrized(eq_quantizers(methods=["affine", "minifloat"], levels=[256]).mark)
    assert ids == ["minifloat-e3m4", "minifloat-e4m3", "affine-int8", "affine-int8-per-channel"]
    assert quantizers[1] == Minifloat(exponent_bits=4, mantissa_bits=3, mode="paper")
    assert point_levels(point("minifloat", exponent_bits=5, mantissa_bits=10)) == 2**16
    assert point_levels(point("prune_quantize", sparsity=0.5)) is None


def test_explicit_points_of_any_registered_quantizer():
    _, quantizers, ids = parametrized(eq_quantizers(points=[point("mulaw", levels=64, mu=100.0)]).mark)
    assert ids == ["mulaw-L64-mu100"] and quantizers[0].spec()["params"]["mu"] == 100.0


def test_ids_skip_grid_defaults():
    assert quantizer_id(point("midtread", levels=4, xmax="max")) == "midtread-L4"
    assert quantizer_id(point("midtread", levels=4, xmax=2.0)) == "midtread-L4-xmax2"


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"methods": ["nope"]}, "unknown method 'nope'"),
        ({"methods": ["prune_quantize"]}, "pass it through points="),
        ({"methods": ["deadzone"], "levels": [3]}, "no quantizer of the grid matches"),
        ({"levels": [0]}, "levels must hold integers >= 1"),
        ({"points": [point("midtread", levels=4)], "methods": ["midtread"]}, "either points or the grid filters"),
        ({"points": [point("midtread", levels=1)]}, "invalid"),
        ({"max_bits": 30}, "max_bits must be in"),
    ],
)
def test_errors_at_collection(kwargs, match):
    with pytest.raises(ValueError, match=match):
        eq_quantizers(**kwargs)


def test_levels_must_be_a_list():
    with pytest.raises(TypeError, match="levels must be a list"):
        eq_quantizers(levels=16)
