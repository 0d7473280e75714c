"""The default grid is the paper's; points become quantizers through one function."""

import pytest

from edgequant.model import PerChannelAffine
from edgequant.quantizers import QUANTIZERS, Affine, Deadzone, MuLaw
from edgequant.quantizers.registry import FAMILIES, sweep_grid
from edgequant.sweep import default_grid, make_quantizer, point, point_key
from edgequant.sweep.grid import DEFAULT_METHODS, PAPER_MINIFLOAT_FORMATS, check_grid, curve_label

PAPER_METHODS = ("midrise", "midtread", "mulaw", "deadzone", "minifloat", "affine")


def test_default_grid_is_the_papers():
    grid = default_grid()
    by_method = {}
    for spec in grid:
        by_method.setdefault(spec["method"], []).append(spec["params"])
    levels = [2**k for k in range(2, 25)]
    for method in ("midrise", "midtread", "mulaw"):
        assert [p["levels"] for p in by_method[method]] == levels
    assert len(by_method["deadzone"]) == 4 * 23
    assert {p["delta"] for p in by_method["deadzone"]} == {0.1, 0.25, 0.4, 0.7}
    formats = [(p["exponent_bits"], p["mantissa_bits"]) for p in by_method["minifloat"]]
    assert formats == list(PAPER_MINIFLOAT_FORMATS) and (5, 10) in formats and len(formats) == 13
    modes = {(p["exponent_bits"], p["mantissa_bits"]): p["mode"] for p in by_method["minifloat"]}
    assert modes.pop((5, 10)) == "ieee" and set(modes.values()) == {"paper"}
    affine = [(p["bits"], p["per_channel"]) for p in by_method["affine"]]
    assert affine == [(b, False) for b in range(2, 9)] + [(b, True) for b in range(2, 9)]
    paper = [spec for spec in grid if spec["method"] in PAPER_METHODS]
    assert len(paper) == 3 * 23 + 92 + 13 + 14
    assert DEFAULT_METHODS[:len(PAPER_METHODS)] == PAPER_METHODS
    assert len({point_key(spec) for spec in grid}) == len(grid)
    small = default_grid(max_bits=4, methods=["deadzone", "affine"])
    assert {s["method"] for s in small} == {"deadzone", "affine"} and len(small) == 4 * 3 + 6


def test_make_quantizer_builds_each_family():
    assert isinstance(make_quantizer(point("deadzone", levels=8, delta=0.1, xmax="max")), Deadzone)
    assert isinstance(make_quantizer(point("mulaw", levels=8, mu=255.0, xmax="max")), MuLaw)
    per_tensor = make_quantizer(point("affine", bits=4, per_channel=False))
    assert isinstance(per_tensor, Affine) and per_tensor.axis is None
    per_channel = make_quantizer(point("affine", bits=4, per_channel=True))
    assert isinstance(per_channel, PerChannelAffine)
    assert make_quantizer(per_channel.spec()).spec() == per_channel.spec()
    assert curve_label(point("deadzone", levels=8, delta=0.4)) == "deadzone δ=0.4"
    assert curve_label(point("affine", bits=4, per_channel=True)) == "affine per-channel"


def test_bad_points_and_options_are_refused():
    with pytest.raises(ValueError, match="unknown method 'nope'.*registered"):
        make_quantizer(point("nope"))
    with pytest.raises(ValueError, match="must be a dict"):
        make_quantizer("midtread")
    with pytest.raises(ValueError, match="JSON-able"):
        make_quantizer(point("midtread", levels=4, xmax=object()))
    with pytest.raises(ValueError, match="unknown method"):
        default_grid(methods=["midtred"])
    with pytest.raises(ValueError, match=r"max_bits must be in \[2, 24\]"):
        default_grid(max_bits=30)


def test_every_registered_family_with_sweep_points_is_in_the_default_grid():
    swept = [name for name in FAMILIES if sweep_grid(name, 24)]
    assert list(DEFAULT_METHODS) == swept and set(swept) <= set(QUANTIZERS)
    for max_bits in (2, 5, 24):
        grid = default_grid(max_bits=max_bits)
        for name in swept:
            points = [spec["params"] for spec in grid if spec["method"] == name]
            assert points == sweep_grid(name, max_bits) and points, name
    checked = check_grid(default_grid(max_bits=3))  # every point builds its quantizer
    assert len(checked) == len(default_grid(max_bits=3))
    duplicated = check_grid(checked[:2] + checked[:2])
    assert len(duplicated) == 2


def test_minifloat_points_are_built_by_name():
    grid = default_grid(methods=["minifloat"])
    assert len(check_grid(grid)) == 13
    half = make_quantizer(grid[-1])
    assert (half.exponent_bits, half.mantissa_bits, half.mode) == (5, 10, "ieee")
