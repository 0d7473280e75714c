"""Cross-compile an exported model for a Cortex-M4 (Debian's gcc-arm-none-eabi + newlib), run it
under ``qemu-system-arm -M mps2-an386`` with semihosting, and read its footprint.

The start-up code and linker script are the repository's ``scripts/cortex_m4`` (an M-profile
vector table of our own: newlib's rdimon start-up is A-profile)."""

from __future__ import annotations

import pathlib
import re
import shutil
import subprocess
from dataclasses import dataclass

import numpy as np

CFLAGS = ("-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=soft", "-O2", "-std=c99", "-Wall", "-Wextra", "-Werror",
          "-ffunction-sections", "-fdata-sections")
#: Instructions per SysTick tick under ``-icount shift=0`` (1 ns per instruction, 25 MHz CPU clock).
INSTRUCTIONS_PER_TICK = 40
TOOLS = ("arm-none-eabi-gcc", "arm-none-eabi-size", "qemu-system-arm")


def toolchain_missing() -> list:
    """The cross tools not on PATH (empty when everything is there)."""
    return [tool for tool in TOOLS if shutil.which(tool) is None]


def write_inputs_header(path, inputs: np.ndarray) -> None:
    """``check_inputs.h``: the int8 inputs the firmware runs, as a const array."""
    inputs = np.asarray(inputs, np.int8).reshape(len(inputs), -1)
    rows = ",\n".join("    {" + ", ".join(str(int(v)) for v in row) + "}" for row in inputs)
    pathlib.Path(path).write_text(f"#include <stdint.h>\n#define EQ_CHECK_INPUTS {len(inputs)}\n"
                                  f"static const int8_t eq_check_inputs[{len(inputs)}][{inputs.shape[1]}] = {{\n"
                                  f"{rows}\n}};\n")


@dataclass
class Footprint:
    """Bytes per section from ``arm-none-eabi-size -A`` (flash = text + rodata (+ data image), RAM = data + bss)."""

    text: int
    rodata: int
    data: int
    bss: int

    @property
    def flash(self) -> int:
        return self.text + self.rodata + self.data

    @property
    def ram(self) -> int:
        return self.data + self.bss


def build(model_dir, inputs, support_dir, output=None, extra_flags=()) -> pathlib.Path:
    """Link ``model_dir/*.c`` with the start-up code and a checker running ``inputs``; returns the ELF."""
    missing = toolchain_missing()
    if missing:
        raise FileNotFoundError(f"the Cortex-M4 tools are missing: {', '.join(missing)} (apt-get install "
                                "gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm)")
    model_dir, support_dir = pathlib.Path(model_dir), pathlib.Path(support_dir)
    build_dir = model_dir / "cortex_m4"
    build_dir.mkdir(exist_ok=True)
    write_inputs_header(build_dir / "check_inputs.h", inputs)
    elf = pathlib.Path(output or build_dir / "model.elf")
    sources = [str(p) for p in sorted(model_dir.glob("*.c"))]
    sources += [str(support_dir / "startup.c"), str(support_dir / "check_model.c")]
    command = ["arm-none-eabi-gcc", *CFLAGS, *extra_flags, f"-I{model_dir}", f"-I{build_dir}", *sources,
               "-nostartfiles", f"-T{support_dir / 'mps2_an386.ld'}", "-Wl,--gc-sections",
               "-Wl,--start-group", "-lc", "-lrdimon", "-lgcc", "-Wl,--end-group", "-o", str(elf)]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"cross-compiling for Cortex-M4 failed:\n{result.stderr[-4000:]}")
    return elf


def run(elf, output_size: int, timeout: float = 120.0):
    """Run the firmware under QEMU; returns (outputs int8 [N, output_size], instructions per inference)."""
    command = ["qemu-system-arm", "-M", "mps2-an386", "-nographic", "-monitor", "none", "-serial", "none",
               "-icount", "shift=0", "-semihosting-config", "enable=on,target=native", "-kernel", str(elf)]
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired as error:
        raise TimeoutError(f"the Cortex-M4 firmware did not finish within {timeout:g} s under QEMU") from error
    if result.returncode != 0:
        raise RuntimeError(f"QEMU exited with {result.returncode}:\n{result.stdout[-2000:]}{result.stderr[-2000:]}")
    lines = result.stdout.split()
    ticks = [int(m.group(1)) for m in re.finditer(r"systick (\d+)", result.stdout)]
    rows = [line for line in lines if re.fullmatch(r"[0-9a-f]+", line) and len(line) == 2 * output_size]
    outputs = np.array([np.frombuffer(bytes.fromhex(row), np.uint8).view(np.int8) for row in rows])
    outputs = outputs.reshape(-1, output_size)
    return outputs, (ticks[0] * INSTRUCTIONS_PER_TICK if ticks else None)


def footprint(elf) -> Footprint:
    """Section sizes of the linked firmware."""
    result = subprocess.run(["arm-none-eabi-size", "-A", str(elf)], capture_output=True, text=True, check=True)
    sizes = {}
    for line in result.stdout.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0].startswith(".") and parts[1].isdigit():
            sizes[parts[0]] = int(parts[1])
    return Footprint(sizes.get(".text", 0), sizes.get(".rodata", 0) + sizes.get(".ARM.exidx", 0),
                     sizes.get(".data", 0), sizes.get(".bss", 0))


def object_footprint(model_dir, extra_flags=()) -> Footprint:
    """What the model adds to a firmware: the exported sources compiled for Cortex-M4 one by one and
    their sections summed (model constants, kernels, the arena in .bss; no libc, no harness)."""
    model_dir = pathlib.Path(model_dir)
    build_dir = model_dir / "cortex_m4"
    build_dir.mkdir(exist_ok=True)
    total = Footprint(0, 0, 0, 0)
    for source in sorted(model_dir.glob("*.c")):
        obj = build_dir / (source.stem + ".o")
        subprocess.run(["arm-none-eabi-gcc", *CFLAGS, *extra_flags, "-c", str(source), "-o", str(obj)],
                       capture_output=True, text=True, check=True)
        result = subprocess.run(["arm-none-eabi-size", "-A", str(obj)], capture_output=True, text=True, check=True)
        for line in result.stdout.splitlines():
            parts = line.split()
            if len(parts) < 2 or not parts[1].isdigit():
                continue
            name, size = parts[0], int(parts[1])
            if name.startswith(".text"):
                total.text += size
            elif name.startswith(".rodata"):
                total.rodata += size
            elif name.startswith(".data"):
                total.data += size
            elif name.startswith(".bss") or name == "COMMON":
                total.bss += size
    return total
