"""The exported model cross-compiled for Cortex-M4 and run under QEMU (mps2-an386, semihosting):
the same outputs as the host build. CI installs the toolchain (scripts/install_system_deps.sh)."""

import numpy as np
import pytest
from mcu_models import REPOSITORY

from edgequant.microcontroller import cortex_m4

pytestmark = pytest.mark.skipif(bool(cortex_m4.toolchain_missing()),
                                reason=f"Cortex-M4 tools missing: {cortex_m4.toolchain_missing()}")


def test_kws_on_cortex_m4_equals_host(exported):
    report, host = exported("kws")
    inputs = np.random.default_rng(11).integers(-128, 128, (4, report.graph.input_activation.size), dtype=np.int8)
    elf = cortex_m4.build(report.directory, inputs, REPOSITORY / "scripts" / "cortex_m4")
    outputs, instructions = cortex_m4.run(elf, report.graph.output_activation.size, timeout=120)
    assert outputs.shape == (4, 12)
    assert np.array_equal(outputs, host(inputs))
    assert instructions and 1e6 < instructions < 1e9
    # -icount shift=0 makes the guest's SysTick count instructions: the same on every run
    assert cortex_m4.run(elf, report.graph.output_activation.size, timeout=120)[1] == instructions
    size = cortex_m4.footprint(elf)
    assert size.bss >= report.arena_bytes and size.rodata >= report.weight_bytes


def test_object_footprint_counts_the_arena_and_weights(exported):
    report, _ = exported("kws")
    size = cortex_m4.object_footprint(report.directory)
    assert size.bss == report.arena_bytes
    assert report.weight_bytes <= size.rodata < report.weight_bytes + 8192
