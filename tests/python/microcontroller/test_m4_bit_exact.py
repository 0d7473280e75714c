"""The MLPerf Tiny int8 models on the emulated Cortex-M4 against TensorFlow Lite Micro: 200 inputs each,
with the DSP kernels (the default on the M4) and the portable C kernels (-DEQ_PORTABLE). The inputs go
in chunks so that each firmware's constant inputs fit the 4 MB flash."""

import numpy as np
import pytest
from mcu_models import MLPERF_TINY, REPOSITORY
from test_bit_exact import INPUTS, report_mismatch, tflm_outputs

from edgequant.microcontroller import cortex_m4

pytestmark = pytest.mark.skipif(
    bool(cortex_m4.toolchain_missing()), reason=f"Cortex-M4 tools missing: {cortex_m4.toolchain_missing()}"
)
FLASH_FOR_INPUTS = 2_000_000


def run_on_m4(report, inputs, flags):
    size = report.graph.output_activation.size
    chunk = max(1, FLASH_FOR_INPUTS // inputs.shape[1])
    outputs = []
    for start in range(0, len(inputs), chunk):
        elf = cortex_m4.build(
            report.directory,
            inputs[start : start + chunk],
            REPOSITORY / "scripts" / "cortex_m4",
            output=report.directory / f"bit_exact_{len(flags)}_{start}.elf",
            extra_flags=flags,
        )
        outputs.append(cortex_m4.run(elf, size, timeout=600)[0])
    return np.concatenate(outputs)


@pytest.mark.slow
@pytest.mark.parametrize("flavour", ["dsp", "portable"])
@pytest.mark.parametrize("name", ["resnet8", "vww", "kws"])
def test_m4_bit_exact_with_tflm(name, flavour, exported, tflite_dir):
    report, _ = exported(name)
    rng = np.random.default_rng(2027)
    inputs = rng.integers(-128, 128, (INPUTS, report.graph.input_activation.size), dtype=np.int8)
    inputs[0] = -128
    inputs[1] = 127
    want = tflm_outputs(tflite_dir / MLPERF_TINY[name], inputs)
    got = run_on_m4(report, inputs, cortex_m4.PORTABLE if flavour == "portable" else ())
    assert got.shape == want.shape
    assert np.array_equal(got, want), report_mismatch(got, want)
    assert len(np.unique(got, axis=0)) > 1
