"""Every registered C kernel (``edgequant.microcontroller.kernels``) against ``runtime/c`` itself: its
parameter struct's fields are the C struct's, its function (and plain reference) is declared in its
header, the call the code generator writes for it compiles against that prototype with warnings as
errors, and it has its C test (``tests/c/test_<kind>.c``, which CTest builds and runs: ``make
test-cpp``). A kernel registered without these fails here; a kernel written in C but never
registered fails :func:`test_every_runtime_kernel_is_registered`."""

import re
import subprocess

import numpy as np
import pytest
from mcu_models import REPOSITORY

from edgequant.microcontroller.graph import Layer
from edgequant.microcontroller.host import c_compiler
from edgequant.microcontroller.kernels import KERNELS, CallSite
from edgequant.microcontroller.runtime_sources import runtime_dir

C_TESTS = REPOSITORY / "tests" / "c"
# runtime functions ending in _s8 that are no layer kind: the weight decoder export-c calls itself
NOT_LAYERS = {"eq_rans_decode_s8"}
_C_TYPES = {np.dtype(np.int8): "int8_t", np.dtype(np.int32): "int32_t"}
_CONSTANT_DTYPES = {"filter": np.int8, "bias": np.int32, "multipliers": np.int32, "shifts": np.int32,
                    "input1": np.int8, "input2": np.int8}


def _structs() -> dict:
    """struct name -> its field names in declaration order, read from eq_shapes.h."""
    text = re.sub(r"/\*.*?\*/", "", (runtime_dir() / "eq_shapes.h").read_text(), flags=re.S)
    structs = {}
    for body, name in re.findall(r"typedef struct \{(.*?)\}\s*(\w+);", text, flags=re.S):
        fields = []
        for declaration in body.split(";"):
            declaration = declaration.strip()
            if declaration:
                fields += [f.strip() for f in re.sub(r"^\w+\s+", "", declaration).split(",")]
        structs[name] = tuple(fields)
    return structs


def _declared(header: str) -> set:
    text = (runtime_dir() / header).read_text()
    return set(re.findall(r"\b(eq_\w+)\s*\(", text))


@pytest.mark.parametrize("kind", sorted(KERNELS))
def test_parameter_struct_is_the_c_struct(kind):
    kernel = KERNELS[kind]
    if kernel.struct is None:
        assert kernel.fields, f"{kind}: a kernel without a struct still declares its parameters"
        return
    structs = _structs()
    assert kernel.struct in structs, f"{kind}: no struct {kernel.struct} in eq_shapes.h ({sorted(structs)})"
    assert structs[kernel.struct] == kernel.fields


@pytest.mark.parametrize("kind", sorted(KERNELS))
def test_function_is_declared_in_its_header(kind):
    kernel = KERNELS[kind]
    declared = _declared(kernel.header)
    assert kernel.function in declared, f"{kernel.function} is not declared in {kernel.header}"
    assert (f"{kernel.function}_ref" in declared) == kernel.reference, \
        f"{kind}: reference={kernel.reference} but {kernel.header} declares {sorted(declared)}"
    assert f'#include "{kernel.header}"' in (runtime_dir() / "edgequant_runtime.h").read_text()


@pytest.mark.parametrize("kind", sorted(KERNELS))
def test_kernel_has_its_c_test(kind):
    """CTest runs every tests/c/test_*.c (tests/c/CMakeLists.txt): the file must exist and call the kernel
    (or hand it to a shared harness, as the window kernels do: `eq_conv2d_s8, eq_conv2d_s8_ref`)."""
    kernel = KERNELS[kind]
    source = C_TESTS / f"test_{kind}.c"
    assert source.is_file(), f"kernel {kind!r} has no C test {source.relative_to(REPOSITORY)}"
    text = source.read_text()
    assert re.search(rf"\b{kernel.function}\s*[(,]", text)
    if kernel.reference:
        assert re.search(rf"\b{kernel.function}_ref\b", text), "a fast kernel is tested against its plain reference"


def _sample_layer(kernel) -> Layer:
    """A layer of ``kernel`` with every field and required constant set (values do not matter: it is compiled,
    not run); the operands that are not constants are activations."""
    constants = {name: np.zeros(1, _CONSTANT_DTYPES[name]) for name in sorted(kernel.required)}
    activations = kernel.operands - len(set(constants) & {"input1", "input2"})
    return Layer(kernel.kind, "sample", list(range(activations)), 9, {f: 1 for f in kernel.fields}, constants)


@pytest.mark.parametrize("kind", sorted(KERNELS))
def test_generated_call_compiles_against_the_prototype(kind, tmp_path):
    """The call codegen writes, with the const data and pointers model.c has, compiles with -Werror: argument
    count, order and pointer types match the C function."""
    kernel = KERNELS[kind]
    layer = _sample_layer(kernel)
    names = {name: f"layer0_{name}" for name in layer.constants}
    sources = [f"src{i}" for i in range(len(layer.inputs))]
    call = kernel.call(CallSite("layer0", sources, "dst", names, layer))
    lines = ['#include <stddef.h>', '#include "edgequant_runtime.h"']
    if kernel.struct:
        fields = ", ".join(f".{f} = 1" for f in kernel.fields)
        lines.append(f"static const {kernel.struct} layer0_params = {{{fields}}};")
    for name, array in layer.constants.items():
        lines.append(f"static const {_C_TYPES[array.dtype]} layer0_{name}[1] = {{0}};")
    arguments = ", ".join(["int8_t *dst", *(f"const int8_t *{s}" for s in sources)])
    lines.append(f"void invoke(int8_t *unused, {arguments});")
    lines.append(f"void invoke(int8_t *unused, {arguments}) {{\n    (void)unused;\n    {call};\n}}")
    source = tmp_path / "call.c"
    source.write_text("\n".join(lines) + "\n")
    result = subprocess.run([c_compiler(), "-std=c99", "-Wall", "-Wextra", "-Werror", f"-I{runtime_dir()}", "-c",
                             str(source), "-o", str(tmp_path / "call.o")], capture_output=True, text=True)
    assert result.returncode == 0, f"{call}\n{result.stderr}"


def test_every_runtime_kernel_is_registered():
    """Each int8 kernel the runtime's headers declare (eq_*_s8, references aside) is some kernel's function."""
    declared = set()
    for header in runtime_dir().glob("*.h"):
        declared |= {name for name in _declared(header.name) if name.endswith("_s8")}
    registered = {kernel.function for kernel in KERNELS.values()}
    assert declared - NOT_LAYERS - registered == set(), "C kernels without a registry entry (kernels/<kind>.py)"


def test_ctest_runs_the_c_tests():
    """tests/c/CMakeLists.txt registers every test_*.c with CTest, so registering a kernel's test is adding its file."""
    text = (C_TESTS / "CMakeLists.txt").read_text()
    assert "file(GLOB EDGEQUANT_C_TESTS CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/test_*.c)" in text
    assert "add_subdirectory(tests/c)" in (REPOSITORY / "CMakeLists.txt").read_text()
