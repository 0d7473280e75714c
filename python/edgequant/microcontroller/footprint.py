"""Footprint and cost of exported models: what the benchmark and notebook 06 tabulate."""

from __future__ import annotations

import pathlib
import re
import shutil
import subprocess
import sys

TFLM_ARENA_SCRIPT = """
import sys
import numpy as np
from tflite_micro.python.tflite_micro import runtime
interpreter = runtime.Interpreter.from_file(sys.argv[1])
interpreter.set_input(np.zeros(interpreter.get_input_details(0)["shape"], np.int8), 0)
interpreter.invoke()
interpreter.print_allocations()
"""

HOST_APP = r"""
#include "model.h"
static int8_t input[EDGEQUANT_INPUT_SIZE];
static int8_t output[EDGEQUANT_OUTPUT_SIZE];
int main(void) {
    unsigned state = 12345u;
    int i, run;
    for (i = 0; i < EDGEQUANT_INPUT_SIZE; ++i) {
        state = state * 1103515245u + 12345u;
        input[i] = (int8_t)(state >> 24);
    }
    for (run = 0; run < 2; ++run) {
        if (edgequant_invoke(input, output) != 0) return 1;
    }
    return output[0] == 127 ? 0 : 0;
}
"""


def tflm_arena(model_path) -> dict:
    """TFLite Micro's arena for a .tflite model (its RecordingMicroAllocator's report), or {} without tflite-micro."""
    result = subprocess.run([sys.executable, "-c", TFLM_ARENA_SCRIPT, str(model_path)], capture_output=True,
                            text=True, timeout=120, check=False)
    found = dict(re.findall(r"Arena allocation (total|head|tail) (\d+) bytes", result.stdout + result.stderr))
    return {key: int(value) for key, value in found.items()}


def callgrind_instructions(command, function: str, runs: int) -> float | None:
    """x86 instructions per call of ``function`` (valgrind --tool=callgrind, collecting inside it only)."""
    if shutil.which("valgrind") is None:
        return None
    out = pathlib.Path(subprocess.run(["mktemp"], capture_output=True, text=True, check=True).stdout.strip())
    result = subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", "--collect-atstart=no",
                             f"--toggle-collect={function}", *map(str, command)], capture_output=True, text=True,
                            timeout=1800, check=False)
    text = out.read_text() if out.is_file() else ""
    out.unlink(missing_ok=True)
    match = re.search(r"^totals: (\d+)", text, re.M) or re.search(r"^summary: (\d+)", text, re.M)
    if result.returncode != 0 or not match:
        return None
    return int(match.group(1)) / runs


def host_instructions(model_dir) -> float | None:
    """x86 instructions per ``edgequant_invoke`` of an exported model built with -O2 (callgrind)."""
    from .host import c_compiler

    model_dir = pathlib.Path(model_dir)
    app = model_dir / "callgrind_app.c.txt"
    app.write_text(HOST_APP)
    binary = model_dir / "callgrind_app"
    sources = [str(p) for p in sorted(model_dir.glob("*.c"))]
    subprocess.run([c_compiler(), "-std=c99", "-O2", "-g", "-x", "c", str(app), "-x", "none", *sources,
                    f"-I{model_dir}", "-o", str(binary)], check=True, capture_output=True)
    return callgrind_instructions([binary], "edgequant_invoke", runs=2)


TFLM_INVOKE_SCRIPT = """
import sys
import numpy as np
from tflite_micro.python.tflite_micro import runtime
interpreter = runtime.Interpreter.from_file(sys.argv[1])
x = np.random.default_rng(0).integers(-128, 128, interpreter.get_input_details(0)["shape"], dtype=np.int8)
for _ in range(2):
    interpreter.set_input(x, 0)
    interpreter.invoke()
"""


def tflm_instructions(model_path) -> float | None:
    """x86 instructions per TFLite Micro ``MicroInterpreter::Invoke`` (its reference kernels, PyPI build)."""
    return callgrind_instructions([sys.executable, "-c", TFLM_INVOKE_SCRIPT, str(model_path)],
                                  "tflite::micro::MicroInterpreter::Invoke()", runs=2)
