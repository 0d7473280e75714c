"""Assertions and helpers for quantization experiments written as tests ("experiment suites").

- :func:`assert_accuracy_not_worse` — a paired statistical test on the same samples: fails when
  the data show, at the given confidence, an accuracy drop larger than ``max_drop_pp``, and
  passes on noise; :func:`compare_accuracy` returns the same comparison without asserting.
- :func:`assert_fidelity` — output SQNR, top-1 agreement, softmax KL or elementwise tolerances
  against the reference outputs, for detectors and regressions.
- :func:`eq_quantizers` — ``pytest.mark.parametrize`` over the quantizer registry and the
  sweep grid, with readable ids.

The pytest plugin (:mod:`edgequant.pytest_plugin`, active once edgequant is installed) adds
the fixtures ``eq_model``, ``eq_data`` and ``eq_record``.

>>> from edgequant.testing import assert_accuracy_not_worse, eq_quantizers
>>> @eq_quantizers(methods=["deadzone"], levels=[256])
... def test_deadzone_keeps_accuracy(quantizer, eq_model, eq_data, eq_record): ...
"""

from .fidelity import assert_fidelity
from .paired_accuracy import AccuracyComparison, assert_accuracy_not_worse, compare_accuracy
from .quantizer_grid import eq_quantizers, point_levels, quantizer_id

__all__ = [
    "AccuracyComparison",
    "assert_accuracy_not_worse",
    "assert_fidelity",
    "compare_accuracy",
    "eq_quantizers",
    "point_levels",
    "quantizer_id",
]
