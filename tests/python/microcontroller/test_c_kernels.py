"""The C kernels' own tests (tests/c/test_kernels.c): fast kernels against their plain references on
random shapes, paddings, strides, dilations, zero points and saturating values, and the fixed-point
helpers against hand-worked values; built -std=c99 -Werror with AddressSanitizer and UBSan."""

import subprocess

import pytest
from mcu_models import REPOSITORY

from edgequant.microcontroller.host import c_compiler
from edgequant.microcontroller.runtime_sources import runtime_dir

SANITIZERS = ("-O1", "-g", "-fsanitize=address,undefined", "-fno-sanitize-recover=all")


@pytest.mark.parametrize("flags", [("-O2",), SANITIZERS], ids=["O2", "sanitizers"])
def test_kernels_match_references(tmp_path, flags):
    runtime = runtime_dir()
    binary = tmp_path / "test_kernels"
    sources = [str(REPOSITORY / "tests" / "c" / "test_kernels.c"), *map(str, sorted(runtime.glob("*.c")))]
    build = subprocess.run([c_compiler(), "-std=c99", "-Wall", "-Wextra", "-Werror", *flags, f"-I{runtime}", *sources,
                            "-o", str(binary)], capture_output=True, text=True)
    if build.returncode != 0 and "sanitize" in " ".join(flags) and "cannot find" in build.stderr:
        pytest.skip(f"the sanitizer runtimes are not installed: {build.stderr[-300:]}")
    assert build.returncode == 0, build.stderr
    result = subprocess.run([str(binary)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and result.stdout.strip().endswith("0 failures"), result.stdout + result.stderr


def test_runtime_headers_compile_as_cpp(tmp_path):
    """The kernel library is meant for the C++ backends too: its headers must be valid C++."""
    import shutil

    compiler = shutil.which("c++") or shutil.which("g++")
    if compiler is None:
        pytest.skip("no C++ compiler")
    source = tmp_path / "use.cpp"
    source.write_text('#include "edgequant_runtime.h"\nint main() { return eq_min_i32(0, 1); }\n')
    result = subprocess.run([compiler, "-std=c++17", "-Wall", "-Wextra", "-Werror", f"-I{runtime_dir()}", "-c",
                             str(source), "-o", str(tmp_path / "use.o")], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
