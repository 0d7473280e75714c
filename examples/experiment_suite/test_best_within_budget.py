"""The paper's best-within-budget table on the embedded digits CNN, as tests.

- ``test_rate_distortion`` quantizes the weights at every point of the sweep grid (L = 2^2 ...
  2^12, every family) and records entropy and top-1 with ``eq_record``: ``--eq-report DIR``
  writes the lowest-entropy point of every curve within 1 pp of FP32 (the paper's Tables
  3.9/3.10) and the rate-distortion plot.
- ``test_best_configuration_holds`` pins that table: each configuration must keep its accuracy
  (a paired statistical test on the same images, so a few images flipping either way is not a
  failure) and must not need more bits per weight than when the table was made. Either
  regression fails the build.
- ``test_two_bit_midtread_loses_accuracy`` shows a configuration the budget rejects.

Run: ``pytest examples/experiment_suite --eq-report out/suite`` (then open out/suite/report.md).
"""

import math

import pytest

from edgequant.model import quantize_weights
from edgequant.sweep import make_quantizer, point
from edgequant.testing import assert_accuracy_not_worse, eq_quantizers, point_levels, quantizer_id

#: The best point of every curve within 1 pp of FP32 top-1 on digits_cnn (540 images, top-1
#: 99.44 %), with its entropy in bits/weight, as recorded by this suite's report.
BEST_WITHIN_BUDGET = [
    (point("affine", bits=3, per_channel=False), 1.6872),
    (point("midrise", levels=8, xmax="max"), 1.8502),
    (point("midtread", levels=8, xmax="max"), 1.8519),
    (point("deadzone", levels=8, delta=0.4, xmax="max"), 1.9779),
    (point("deadzone", levels=16, delta=0.7, xmax="max"), 2.6231),
    (point("deadzone", levels=16, delta=0.1, xmax="max"), 2.9106),
    (point("deadzone", levels=16, delta=0.25, xmax="max"), 2.9153),
    (point("affine", bits=4, per_channel=True), 3.1715),
    (point("mulaw", levels=32, mu=255.0, xmax="max"), 4.4251),
    (point("minifloat", exponent_bits=3, mantissa_bits=3, mode="paper"), 5.8971),
]

#: Allowed growth of the entropy (bits/weight) before a configuration counts as a larger file.
ENTROPY_SLACK = 1e-3


@eq_quantizers(max_bits=12)
def test_rate_distortion(quantizer, digits, fp32_top1, eq_record):
    eq_record.baseline(top1=fp32_top1)
    quantized = quantize_weights(digits.reference_model, quantizer)
    metrics = digits.evaluate(quantized.model)
    eq_record(entropy=quantized.entropy, top1=metrics["top1"], output_sqnr_db=metrics["output_sqnr_db"])
    assert 0.0 <= quantized.entropy <= math.log2(point_levels(quantizer.spec())) + 1e-9  # at most log2(codes)


@pytest.mark.parametrize(
    "spec, entropy_bits", BEST_WITHIN_BUDGET, ids=[quantizer_id(spec) for spec, _ in BEST_WITHIN_BUDGET]
)
def test_best_configuration_holds(spec, entropy_bits, digits):
    quantized = quantize_weights(digits.reference_model, make_quantizer(spec))
    assert_accuracy_not_worse(digits.labels, digits.reference_outputs, digits.outputs(quantized.model), max_drop_pp=1.0)
    assert quantized.entropy <= entropy_bits + ENTROPY_SLACK, f"{quantized.entropy:.4f} bits/weight > {entropy_bits}"


def test_two_bit_midtread_loses_accuracy(digits):
    quantized = quantize_weights(digits.reference_model, make_quantizer(point("midtread", levels=4, xmax="max")))
    with pytest.raises(AssertionError, match="drop larger than max_drop_pp=1"):
        assert_accuracy_not_worse(digits.labels, digits.reference_outputs, digits.outputs(quantized.model))
