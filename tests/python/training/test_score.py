"""The efficiency score PE (SPEC §5) against hand-computed values, and its errors. No torch needed."""

import math

import pytest

from edgequant.training.score import efficiency_score, measured_efficiency_score


def test_paper_headline_by_hand():
    # 79.20 / 87.21 = 0.908153...; RC = 0.0693 · 4/32 = 0.0086625; PE = 0.908153 / 0.0086625
    ratio = 79.20 / 87.21
    assert efficiency_score(79.20, 87.21, 0.0693, 4) == pytest.approx(ratio / 0.0086625, rel=1e-12)
    assert efficiency_score(79.20, 87.21, 0.0693, 4) == pytest.approx(104.837, abs=1e-3)
    assert efficiency_score(79.20, 87.21, 0.0693, 4, rho=2) == pytest.approx(ratio**2 / 0.0086625, rel=1e-12)
    assert efficiency_score(79.20, 87.21, 0.0693, 4, rho=3) == pytest.approx(ratio**3 / 0.0086625, rel=1e-12)


def test_paper_table_ii_lies_within_the_rounding_of_its_inputs():
    # The paper prints 104.90 / 95.27 / 86.52 from 79.20 %, 87.21 %, 6.93 %, all rounded to 2 decimals;
    # PE grows with acc and falls with acc_base and density, so the box's corners bound it.
    for rho, paper in ((1, 104.90), (2, 95.27), (3, 86.52)):
        low = efficiency_score(79.195, 87.215, 0.06935, 4, rho=rho)
        high = efficiency_score(79.205, 87.205, 0.06925, 4, rho=rho)
        assert low <= paper <= high
    assert round(efficiency_score(79.20, 87.21, 0.06926, 4), 2) == 104.90


def test_units_and_neutral_points():
    assert efficiency_score(0.792, 0.8721, 0.0693, 4) == pytest.approx(efficiency_score(79.2, 87.21, 0.0693, 4))
    assert efficiency_score(87.21, 87.21, 1.0, 32) == 1.0  # the baseline itself
    assert efficiency_score(0.0, 87.21, 0.5, 8) == 0.0
    assert efficiency_score(50, 100, 1.0, 16, bits_orig=16) == 0.5


def test_measured_score_replaces_density_times_bits():
    estimated = efficiency_score(79.20, 87.21, 0.0693, 4)
    assert measured_efficiency_score(79.20, 87.21, 0.0693 * 4) == pytest.approx(estimated)
    assert measured_efficiency_score(80, 80, 2.0, rho=3) == 16.0


@pytest.mark.parametrize("kwargs, error, match", [
    ({"acc": -1}, ValueError, "acc"),
    ({"acc_base": 0}, ValueError, "acc_base"),
    ({"density": 0}, ValueError, "density"),
    ({"density": 6.93}, ValueError, "percentage"),
    ({"bits": 0}, ValueError, "bits"),
    ({"rho": 0.5}, ValueError, "rho"),
    ({"bits_orig": -32}, ValueError, "bits_orig"),
    ({"acc": math.nan}, ValueError, "finite"),
    ({"acc": "80"}, TypeError, "acc"),
    ({"density": True}, TypeError, "density"),
])
def test_bad_inputs(kwargs, error, match):
    arguments = {"acc": 80.0, "acc_base": 87.0, "density": 0.1, "bits": 4, **kwargs}
    with pytest.raises(error, match=match):
        efficiency_score(**arguments)
    if "density" not in kwargs and "bits" not in kwargs:
        with pytest.raises(error, match=match):
            measured_efficiency_score(arguments["acc"], arguments["acc_base"], 1.0,
                                      arguments.get("bits_orig", 32), arguments.get("rho", 1))
