"""The C kernel tests (tests/c/test_dsp_kernels.c and runtime/c's per-kernel tests/c/test_<kind>.c)
cross-compiled for the Cortex-M4 and run under QEMU: the DSP kernels (the default on the M4) and the portable C kernels
(-DEQ_PORTABLE) against the plain references, with the soft- and the hard-float ABI (the start-up code
must switch the FPU on for the latter)."""

import subprocess

import pytest
from mcu_models import REPOSITORY

from edgequant.microcontroller import cortex_m4
from edgequant.microcontroller.runtime_sources import runtime_dir

pytestmark = pytest.mark.skipif(
    bool(cortex_m4.toolchain_missing()), reason=f"Cortex-M4 tools missing: {cortex_m4.toolchain_missing()}"
)
SUPPORT = REPOSITORY / "scripts" / "cortex_m4"
QEMU = (
    "qemu-system-arm",
    "-M",
    "mps2-an386",
    "-nographic",
    "-monitor",
    "none",
    "-serial",
    "none",
    "-icount",
    "shift=0",
    "-semihosting-config",
    "enable=on,target=native",
    "-kernel",
)


def _run_on_m4(tmp_path, test, flags, float_abi="soft"):
    runtime = runtime_dir()
    tick = tmp_path / "tick.c"  # startup.c's vector table names a SysTick handler
    tick.write_text("void eq_systick_handler(void);\nvoid eq_systick_handler(void) {}\n")
    elf = tmp_path / "test.elf"
    command = [
        "arm-none-eabi-gcc",
        *cortex_m4._flags(float_abi),
        *flags,
        f"-I{runtime}",
        str(REPOSITORY / "tests" / "c" / test),
        *map(str, sorted(runtime.glob("*.c"))),
        str(SUPPORT / "startup.c"),
        str(tick),
        "-nostartfiles",
        f"-T{SUPPORT / 'mps2_an386.ld'}",
        "-Wl,--gc-sections",
        "-Wl,--start-group",
        "-lc",
        "-lrdimon",
        "-lgcc",
        "-Wl,--end-group",
        "-o",
        str(elf),
    ]
    build = subprocess.run(command, capture_output=True, text=True)
    assert build.returncode == 0, build.stderr
    symbols = subprocess.run(["arm-none-eabi-nm", str(elf)], capture_output=True, text=True, check=True).stdout
    result = subprocess.run([*QEMU, str(elf)], capture_output=True, text=True, timeout=300)
    return result.stdout + result.stderr, symbols


@pytest.mark.parametrize("flavour", ["dsp", "portable"])
def test_dsp_kernels_match_references_on_m4(tmp_path, flavour):
    output, symbols = _run_on_m4(tmp_path, "test_dsp_kernels.c", cortex_m4.PORTABLE if flavour == "portable" else ())
    # the firmware says which kernels it ran, and only the DSP build links them
    assert f"flavour {flavour}" in output
    assert ("eq_conv2d_s8_dsp" in symbols) == (flavour == "dsp")
    assert output.strip().splitlines()[-1] == "0 failures" and "FAIL" not in output, output[-3000:]


@pytest.mark.parametrize("flavour", ["dsp", "portable"])
@pytest.mark.parametrize("kernel", ["conv2d", "depthwise_conv2d", "fully_connected", "average_pool", "add"])
def test_kernel_tests_on_m4(tmp_path, kernel, flavour):
    """runtime/c's own per-kernel tests (tests/c/test_<kind>.c, CTest on the host) on the M4 too, for
    the kernels with a DSP version (and Add, whose requantization the DSP build switches)."""
    helpers = [str(REPOSITORY / "tests" / "c" / name) for name in ("eq_test.c", "window_cases.c", "pool_cases.c")]
    flags = (*(cortex_m4.PORTABLE if flavour == "portable" else ()), f"-I{REPOSITORY / 'tests' / 'c'}", *helpers)
    output, _ = _run_on_m4(tmp_path, f"test_{kernel}.c", flags)
    assert output.strip().splitlines()[-1] == "0 failures" and "FAIL" not in output, output[-3000:]


def test_hard_float_abi_runs(tmp_path):
    """A hard-float build executes VFP code (newlib's start-up, printf) only if the FPU was switched on."""
    output, _ = _run_on_m4(tmp_path, "test_dsp_kernels.c", (), float_abi="hard")
    assert "flavour dsp" in output and output.strip().splitlines()[-1] == "0 failures", output[-3000:]


def test_dsp_kernel_test_on_host(tmp_path):
    """The same C test on the host (no DSP extension: the portable kernels and the plain-C branch of
    the fast requantization), so the latter is checked where it runs."""
    from edgequant.microcontroller.host import c_compiler

    runtime = runtime_dir()
    binary = tmp_path / "test_dsp_kernels"
    sources = [str(REPOSITORY / "tests" / "c" / "test_dsp_kernels.c"), *map(str, sorted(runtime.glob("*.c")))]
    build = subprocess.run(
        [c_compiler(), "-std=c99", "-Wall", "-Wextra", "-Werror", "-O2", f"-I{runtime}", *sources, "-o", str(binary)],
        capture_output=True,
        text=True,
    )
    assert build.returncode == 0, build.stderr
    result = subprocess.run([str(binary)], capture_output=True, text=True, timeout=300)
    assert "flavour portable" in result.stdout
    assert result.stdout.strip().splitlines()[-1] == "0 failures" and "FAIL" not in result.stdout, result.stdout[-3000:]


def test_unoptimized_dsp_build_on_m4(tmp_path):
    """-O0 keeps a frame pointer, too few registers for the conv's asm loop: its C twin runs instead."""
    output, _ = _run_on_m4(tmp_path, "test_dsp_kernels.c", ("-O0",))
    assert "flavour dsp" in output and output.strip().splitlines()[-1] == "0 failures", output[-3000:]
