"""bench_mcu.py --cmsis-nn: our Cortex-M4 kernels (portable C and DSP) against Arm's CMSIS-NN on the same
exported model.c, per model and per layer type (qemu mps2-an386, -icount shift=0, SysTick).

CMSIS-NN is not vendored: pass its source tree (github.com/ARM-software/CMSIS-NN). It is built once
into a static library at its DSP path (``-O2 -mcpu=cortex-m4 -mfloat-abi=hard -mfpu=fpv4-sp-d16``);
every firmware here uses that ABI, and ``eq_cmsis_nn.c`` forwards our kernel entry points onto it."""

from __future__ import annotations

import collections
import pathlib
import subprocess
from concurrent.futures import ThreadPoolExecutor

import numpy as np

HERE = pathlib.Path(__file__).resolve().parent
REPOSITORY = HERE.parents[1]
SUPPORT = REPOSITORY / "scripts" / "cortex_m4"
FLAGS = (
    "-O2",
    "-mcpu=cortex-m4",
    "-mthumb",
    "-mfloat-abi=hard",
    "-mfpu=fpv4-sp-d16",
    "-ffunction-sections",
    "-fdata-sections",
)
#: runtime/c files whose kernels eq_cmsis_nn.c replaces
FORWARDED = {
    "eq_conv2d.c",
    "eq_depthwise_conv2d.c",
    "eq_fully_connected.c",
    "eq_add.c",
    "eq_average_pool.c",
    "eq_max_pool.c",
    "eq_softmax.c",
}
PROFILE = {"model_flags": ("-include", "profile_layers.h"), "extra_flags": ("-DEQ_PROFILE_LAYERS",)}


def build_library(source: pathlib.Path, out_dir: pathlib.Path) -> pathlib.Path:
    """CMSIS-NN's sources compiled for the M4 into ``libcmsis-nn.a``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    # the float16/float32 kernels need Helium; every int8 kernel builds for the M4
    sources = [p for p in sorted((source / "Source").rglob("*.c")) if not p.stem.endswith(("_f16", "_f32"))]
    if not sources:
        raise FileNotFoundError(f"no CMSIS-NN sources under {source / 'Source'}")

    def compile_one(path):
        obj = out_dir / (path.stem + ".o")
        subprocess.run(
            ["arm-none-eabi-gcc", *FLAGS, f"-I{source / 'Include'}", "-c", str(path), "-o", str(obj)],
            check=True,
            capture_output=True,
            text=True,
        )
        return str(obj)

    with ThreadPoolExecutor(2) as pool:
        objects = list(pool.map(compile_one, sources))
    library = out_dir / "libcmsis-nn.a"
    library.unlink(missing_ok=True)
    subprocess.run(["arm-none-eabi-ar", "rcs", str(library), *objects], check=True)
    return library


def layer_type(kind: str, height: int, width: int, channels: int) -> str:
    if kind in ("conv2d", "depthwise_conv2d", "average_pool", "max_pool"):
        label = f"{kind} {height}x{width}"
        return label + (f" ({channels} ch in)" if kind == "conv2d" and channels < 4 else "")
    return kind


def _firmware(report, inputs, name, flavour, cmsis, profile):
    from edgequant.microcontroller import cortex_m4

    model_dir = pathlib.Path(report.directory)
    options = dict(PROFILE) if profile else {}
    extra = ()
    if flavour == "portable":
        extra = cortex_m4.PORTABLE
    options["extra_flags"] = (*options.get("extra_flags", ()), *extra)
    if flavour == "cmsis-nn":
        sources = [p for p in sorted(model_dir.glob("*.c")) if p.name not in FORWARDED]
        sources.append(HERE / "eq_cmsis_nn.c")
        options.update(sources=sources, libraries=(cmsis["library"],))
        options["extra_flags"] = (*options["extra_flags"], f"-I{cmsis['include']}")
    elf = model_dir / f"{name}_{flavour}{'_layers' if profile else ''}.elf"
    return cortex_m4.build(model_dir, inputs, SUPPORT, output=elf, float_abi="hard", **options)


def measure(name, report, inputs, cmsis):
    """{flavour: {"total", "layers", "code", "scratch", "outputs"}} for ours portable / DSP and CMSIS-NN."""
    from edgequant.microcontroller import cortex_m4

    size = report.graph.output_activation.size
    results = {}
    for flavour in ("portable", "dsp", *(("cmsis-nn",) if cmsis else ())):
        elf = _firmware(report, inputs, name, flavour, cmsis, profile=False)
        outputs, total = cortex_m4.run(elf, size, timeout=600)
        layered = _firmware(report, inputs, name, flavour, cmsis, profile=True)
        layered_outputs, _, details = cortex_m4.run(layered, size, timeout=600, details=True)
        if not np.array_equal(outputs, layered_outputs):
            raise AssertionError(f"{name} {flavour}: the profiled build changed the outputs")
        by_type = collections.OrderedDict()
        for kind, height, width, channels, count in details["layers"]:
            key = layer_type(kind, height, width, channels)
            by_type[key] = by_type.get(key, 0) + count
        results[flavour] = {
            "total": total,
            "layers": by_type,
            "code": cortex_m4.code_bytes(elf),
            "scratch": details["scratch"] or 0,
            "outputs": outputs,
        }
    return results


def print_tables(rows):
    """rows: [(model, arena bytes, results)] from :func:`measure`."""
    peer = any("cmsis-nn" in r for _, _, r in rows)
    head = "| model | ours portable | ours DSP |" + (" CMSIS-NN | DSP / CMSIS-NN |" if peer else "")
    print(
        "\nCortex-M4 instructions per inference (qemu mps2-an386 -icount shift=0; hard-float ABI; "
        "instructions, not cycles)\n"
    )
    print(head)
    print("|---|---:|---:|" + ("---:|---:|" if peer else ""))
    for model, _, r in rows:
        line = f"| {model} | {r['portable']['total'] / 1e6:.2f} M | {r['dsp']['total'] / 1e6:.2f} M |"
        if peer:
            c = r["cmsis-nn"]["total"]
            line += f" {c / 1e6:.2f} M | {r['dsp']['total'] / c:.2f} |"
        print(line)
    print("\nBy layer type (M instructions per inference)\n")
    print("| model | layer type | ours portable | ours DSP |" + (" CMSIS-NN | DSP / CMSIS-NN |" if peer else ""))
    print("|---|---|---:|---:|" + ("---:|---:|" if peer else ""))
    for model, _, r in rows:
        for key, count in r["dsp"]["layers"].items():
            line = f"| {model} | {key} | {r['portable']['layers'].get(key, 0) / 1e6:.3f} | {count / 1e6:.3f} |"
            if peer:
                c = r["cmsis-nn"]["layers"].get(key, 0)
                line += f" {c / 1e6:.3f} | {count / c:.2f} |" if c else " – | – |"
            print(line)
    print("\nKernel code (.text + .rodata the link keeps from the kernel objects) and RAM (arena + scratch), bytes\n")
    print(
        "| model | code portable | code DSP | arena + scratch ours |"
        + (" code CMSIS-NN | arena + scratch CMSIS-NN |" if peer else "")
    )
    print("|---|---:|---:|---:|" + ("---:|---:|" if peer else ""))
    for model, arena, r in rows:
        line = f"| {model} | {r['portable']['code']:,} | {r['dsp']['code']:,} | {arena:,} + 0 |"
        if peer:
            line += f" {r['cmsis-nn']['code']:,} | {arena:,} + {r['cmsis-nn']['scratch']:,} |"
        print(line)
