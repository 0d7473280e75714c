"""The exported model cross-compiled for Cortex-M4 and run under QEMU (mps2-an386, semihosting):
the same outputs as the host build. CI installs the toolchain (scripts/install_system_deps.sh)."""

import numpy as np
import pytest
from mcu_models import REPOSITORY

from edgequant.microcontroller import cortex_m4

pytestmark = pytest.mark.skipif(
    bool(cortex_m4.toolchain_missing()), reason=f"Cortex-M4 tools missing: {cortex_m4.toolchain_missing()}"
)


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


def test_layer_profile_adds_up_and_keeps_outputs(exported):
    """The per-layer SysTick profile (bench_mcu.py's by-layer table) times every kernel call and
    changes no output; the DSP and the portable builds agree."""
    report, host = exported("kws")
    inputs = np.random.default_rng(12).integers(-128, 128, (2, report.graph.input_activation.size), dtype=np.int8)
    size = report.graph.output_activation.size
    support = REPOSITORY / "scripts" / "cortex_m4"
    plain = cortex_m4.build(report.directory, inputs, support, output=report.directory / "plain.elf")
    _, total = cortex_m4.run(plain, size)
    profiled = cortex_m4.build(
        report.directory,
        inputs,
        support,
        output=report.directory / "profiled.elf",
        model_flags=("-include", "profile_layers.h"),
        extra_flags=("-DEQ_PROFILE_LAYERS",),
    )
    outputs, profiled_total, details = cortex_m4.run(profiled, size, details=True)
    assert np.array_equal(outputs, host(inputs))
    kinds = [layer[0] for layer in details["layers"]]
    assert kinds == [layer.kind for i, layer in enumerate(report.graph.layers) if i not in report.plan.aliased]
    layer_sum = sum(layer[4] for layer in details["layers"])
    assert 0.95 * profiled_total <= layer_sum <= profiled_total
    assert abs(profiled_total - total) < 0.02 * total
    portable = cortex_m4.build(
        report.directory, inputs, support, output=report.directory / "portable.elf", extra_flags=cortex_m4.PORTABLE
    )
    portable_outputs, portable_total = cortex_m4.run(portable, size)
    assert np.array_equal(portable_outputs, outputs)
    assert portable_total > 2 * total  # the DSP kernels ran in the default build
    # kernel code from the link map: the DSP kernels add code; neither counts libc, harness or model constants
    assert 2000 < cortex_m4.code_bytes(portable) < cortex_m4.code_bytes(plain) < 16384


def test_dwt_cycle_build_runs(exported):
    """-DEQ_DWT_CYCLES (cycles on a real board) builds and runs; QEMU does not model the counter."""
    report, host = exported("kws")
    inputs = np.random.default_rng(13).integers(-128, 128, (2, report.graph.input_activation.size), dtype=np.int8)
    elf = cortex_m4.build(
        report.directory,
        inputs,
        REPOSITORY / "scripts" / "cortex_m4",
        output=report.directory / "dwt.elf",
        extra_flags=("-DEQ_DWT_CYCLES",),
        float_abi="hard",
    )
    outputs, instructions, details = cortex_m4.run(elf, report.graph.output_activation.size, details=True)
    assert np.array_equal(outputs, host(inputs)) and instructions > 0
    assert details["cycles"] == 0  # printed; zero under QEMU, the cycle count on a board
