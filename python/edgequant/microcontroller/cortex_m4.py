"""Cross-compile an exported model for a Cortex-M4 (Debian's gcc-arm-none-eabi + newlib), run it
under ``qemu-system-arm -M mps2-an386`` with semihosting, and read its footprint.

The start-up code and linker script are the repository's ``scripts/cortex_m4`` (an M-profile
vector table of our own: newlib's rdimon start-up is A-profile; it switches the FPU on when built for
one). Both float ABIs build (``float_abi="soft"`` or ``"hard"``); the kernels are integer-only, so the
ABI changes no instruction count of theirs. With the M4's DSP extension the runtime uses its DSP
kernels (``eq_dsp.h``); ``-DEQ_PORTABLE`` (:data:`PORTABLE`) builds the portable C instead."""

from __future__ import annotations

import pathlib
import re
import shutil
import subprocess
from dataclasses import dataclass

import numpy as np

#: Target flags per float ABI (the M4F's single-precision FPU for the hard-float ABI).
ABI_FLAGS = {"soft": ("-mfloat-abi=soft",), "hard": ("-mfloat-abi=hard", "-mfpu=fpv4-sp-d16")}
TARGET = ("-mcpu=cortex-m4", "-mthumb")
CFLAGS = (
    *TARGET,
    *ABI_FLAGS["soft"],
    "-O2",
    "-std=c99",
    "-Wall",
    "-Wextra",
    "-Werror",
    "-ffunction-sections",
    "-fdata-sections",
)
#: Extra flags for the portable C kernels on a DSP-capable core (the reference for the DSP kernels).
PORTABLE = ("-DEQ_PORTABLE",)
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
    pathlib.Path(path).write_text(
        f"#include <stdint.h>\n#define EQ_CHECK_INPUTS {len(inputs)}\n"
        f"static const int8_t eq_check_inputs[{len(inputs)}][{inputs.shape[1]}] = {{\n"
        f"{rows}\n}};\n"
    )


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


def _flags(float_abi: str) -> tuple:
    if float_abi not in ABI_FLAGS:
        raise ValueError(f"float_abi must be one of {sorted(ABI_FLAGS)}, not {float_abi!r}")
    return tuple(f for f in CFLAGS if not f.startswith("-mfloat-abi")) + ABI_FLAGS[float_abi]


def build(
    model_dir,
    inputs,
    support_dir,
    output=None,
    extra_flags=(),
    float_abi="soft",
    sources=None,
    model_flags=(),
    libraries=(),
    library_flags=(),
) -> pathlib.Path:
    """Link ``model_dir/*.c`` with the start-up code and a checker running ``inputs``; returns the ELF.

    Each source is compiled to its own object (so the link map, ``<elf>.map``, attributes code to
    files: see :func:`code_bytes`). ``sources`` replaces the model folder's ``*.c``; ``model_flags``
    are added for ``model.c`` only (e.g. a force-included profiling header); ``libraries`` are static
    libraries linked after the objects."""
    missing = toolchain_missing()
    if missing:
        raise FileNotFoundError(
            f"the Cortex-M4 tools are missing: {', '.join(missing)} (apt-get install "
            "gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm)"
        )
    model_dir, support_dir = pathlib.Path(model_dir), pathlib.Path(support_dir)
    flags = _flags(float_abi)
    build_dir = model_dir / "cortex_m4"
    build_dir.mkdir(exist_ok=True)
    write_inputs_header(build_dir / "check_inputs.h", inputs)
    elf = pathlib.Path(output or build_dir / "model.elf")
    object_dir = elf.with_suffix(".objects")
    object_dir.mkdir(exist_ok=True)
    files = [pathlib.Path(p) for p in (sources if sources is not None else sorted(model_dir.glob("*.c")))]
    files += [support_dir / "startup.c", support_dir / "check_model.c"]
    objects = []
    for source in files:
        obj = object_dir / (source.stem + ".o")
        command = [
            "arm-none-eabi-gcc",
            *flags,
            *extra_flags,
            *(model_flags if source.name == "model.c" else ()),
            f"-I{model_dir}",
            f"-I{build_dir}",
            f"-I{support_dir}",
            "-c",
            str(source),
            "-o",
            str(obj),
        ]
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise RuntimeError(f"cross-compiling {source.name} for Cortex-M4 failed:\n{result.stderr[-4000:]}")
        objects.append(str(obj))
    command = [
        "arm-none-eabi-gcc",
        *flags,
        *library_flags,
        *objects,
        *map(str, libraries),
        "-nostartfiles",
        f"-T{support_dir / 'mps2_an386.ld'}",
        "-Wl,--gc-sections",
        f"-Wl,-Map={elf.with_suffix('.map')}",
        "-Wl,--start-group",
        "-lc",
        "-lrdimon",
        "-lgcc",
        "-Wl,--end-group",
        "-o",
        str(elf),
    ]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"linking for Cortex-M4 failed:\n{result.stderr[-4000:]}")
    return elf


def code_bytes(elf, exclude=("model.o", "startup.o", "check_model.o")) -> int:
    """Bytes of code and constants (``.text*``, ``.rodata*``) the link kept from the firmware's own
    objects and static libraries other than the C library: the kernels, without the model's
    constants, the harness or libc / libgcc (read from the link map :func:`build` writes)."""
    total, section = 0, None
    text = pathlib.Path(elf).with_suffix(".map").read_text()
    kept = text[text.index("Linker script and memory map") :]  # before it: the sections --gc-sections dropped
    for line in kept.splitlines():
        parts = line.split()
        if len(parts) == 1 and parts[0].startswith((".text", ".rodata")):
            section = parts[0]  # a long section name: its address, size and file follow on the next line
            continue
        if parts and parts[0].startswith((".text", ".rodata")) and len(parts) >= 4:
            section, parts = parts[0], parts[1:]
        elif section is None or len(parts) < 3 or not parts[0].startswith("0x"):
            section = None
            continue
        size, origin = int(parts[1], 16), parts[2]
        section = None
        name = pathlib.Path(origin.split("(")[-1].rstrip(")")).name
        if (
            origin.endswith(".o")
            and "/arm-none-eabi/" not in origin
            and "/gcc/" not in origin
            and name not in exclude
            or (".a(" in origin and "/arm-none-eabi/" not in origin)
        ):
            total += size
    return total


def run(elf, output_size: int, timeout: float = 120.0, details: bool = False):
    """Run the firmware under QEMU; returns (outputs int8 [N, output_size], instructions per inference),
    and with ``details`` a third item: ``{"layers": [(kind, filter_h, filter_w, in_channels, instructions)],
    "scratch": bytes or None, "cycles": DWT cycles or None}`` (layers only from a build with the profiling
    header, see bench_mcu.py)."""
    command = [
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
        str(elf),
    ]
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired as error:
        raise TimeoutError(f"the Cortex-M4 firmware did not finish within {timeout:g} s under QEMU") from error
    if result.returncode != 0:
        raise RuntimeError(f"QEMU exited with {result.returncode}:\n{result.stdout[-2000:]}{result.stderr[-2000:]}")
    lines = [line.strip() for line in result.stdout.splitlines()]  # whole lines: a layer line holds hex-like numbers
    ticks = [int(m.group(1)) for m in re.finditer(r"systick (\d+)", result.stdout)]
    rows = [line for line in lines if re.fullmatch(r"[0-9a-f]+", line) and len(line) == 2 * output_size]
    outputs = np.array([np.frombuffer(bytes.fromhex(row), np.uint8).view(np.int8) for row in rows])
    outputs = outputs.reshape(-1, output_size)
    instructions = ticks[0] * INSTRUCTIONS_PER_TICK if ticks else None
    if not details:
        return outputs, instructions
    layers = [
        (m.group(1), int(m.group(2)), int(m.group(3)), int(m.group(4)), int(m.group(5)) * INSTRUCTIONS_PER_TICK)
        for m in re.finditer(r"^layer \d+ (\w+) (-?\d+) (-?\d+) (-?\d+) (\d+)$", result.stdout, re.M)
    ]
    scratch = re.search(r"^scratch (\d+)$", result.stdout, re.M)
    cycles = re.search(r"^cycles (\d+)$", result.stdout, re.M)  # -DEQ_DWT_CYCLES: the DWT counter (0 in QEMU)
    return (
        outputs,
        instructions,
        {
            "layers": layers,
            "scratch": int(scratch.group(1)) if scratch else None,
            "cycles": int(cycles.group(1)) if cycles else None,
        },
    )


def footprint(elf) -> Footprint:
    """Section sizes of the linked firmware."""
    result = subprocess.run(["arm-none-eabi-size", "-A", str(elf)], capture_output=True, text=True, check=True)
    sizes = {}
    for line in result.stdout.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0].startswith(".") and parts[1].isdigit():
            sizes[parts[0]] = int(parts[1])
    return Footprint(
        sizes.get(".text", 0),
        sizes.get(".rodata", 0) + sizes.get(".ARM.exidx", 0),
        sizes.get(".data", 0),
        sizes.get(".bss", 0),
    )


def object_footprint(model_dir, extra_flags=(), float_abi="soft") -> Footprint:
    """What the model adds to a firmware: the exported sources compiled for Cortex-M4 one by one and
    their sections summed (model constants, kernels, the arena in .bss; no libc, no harness)."""
    model_dir = pathlib.Path(model_dir)
    build_dir = model_dir / "cortex_m4"
    build_dir.mkdir(exist_ok=True)
    total = Footprint(0, 0, 0, 0)
    for source in sorted(model_dir.glob("*.c")):
        obj = build_dir / (source.stem + ".o")
        subprocess.run(
            ["arm-none-eabi-gcc", *_flags(float_abi), *extra_flags, "-c", str(source), "-o", str(obj)],
            capture_output=True,
            text=True,
            check=True,
        )
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
