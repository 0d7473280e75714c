"""Microcontroller export (SPEC §8): footprint, cost per inference and accuracy of the C runtime.

For each MLPerf Tiny int8 model (and the digits CNN / mnist-8 through ONNX static INT8):
  - flash and RAM the model adds to a Cortex-M4 firmware (its sources compiled with
    arm-none-eabi-gcc -O2, sections summed: kernels, constants, arena), beside TFLite Micro's
    arena for the same model and the model file size;
  - instructions per inference on the Cortex-M4 (QEMU mps2-an386, -icount shift=0, SysTick);
  - x86 instructions per inference (valgrind callgrind) of our runtime and of TFLite Micro's
    reference kernels (PyPI tflite-micro, MicroInterpreter::Invoke), measured in the same run;
  - the same with --coded-weights: flash saved, arena added, decode instructions;
  - ResNet-8's accuracy on the CIFAR-10 test set (shared JPEGs) through the C runtime;
  - per model and per layer type on the Cortex-M4: our portable C kernels, our DSP kernels and, with
    --cmsis-nn DIR (a CMSIS-NN source tree), Arm's CMSIS-NN as the peer (benchmarks/cmsis_nn/peer.py);
    kernel code and arena + scratch beside them. Instruction counts, not cycles.

Run: .venv/bin/python benchmarks/bench_mcu.py [--accuracy-limit 10000] [--float-reference] [--no-callgrind]
     [--accuracy-only] [--kernels-only] [--cmsis-nn DIR] [--out DIR]
"""

from __future__ import annotations

import argparse
import pathlib
import sys
import tempfile

import numpy as np
from tqdm import tqdm

REPOSITORY = pathlib.Path(__file__).resolve().parents[1]
MODELS = {
    "ResNet-8 (CIFAR-10)": "pretrainedResnet_quant.tflite",
    "VWW MobileNet 96x96": "vww_96_int8.tflite",
    "KWS DS-CNN": "kws_ref_model.tflite",
}


def measure(name, source, out_dir, data, callgrind, calibration=None):
    from edgequant.microcontroller import cortex_m4, export_c
    from edgequant.microcontroller.footprint import host_instructions, tflm_arena, tflm_instructions

    rows = []
    for coded in (False, True):
        report = export_c(
            source,
            out_dir / f"{pathlib.Path(source).stem}{'_coded' if coded else ''}",
            calibration=calibration,
            coded_weights=coded,
        )
        inputs = np.random.default_rng(0).integers(-128, 128, (2, report.graph.input_activation.size), dtype=np.int8)
        size = cortex_m4.object_footprint(report.directory)
        elf = cortex_m4.build(report.directory, inputs, REPOSITORY / "scripts" / "cortex_m4")
        _, m4_instructions = cortex_m4.run(elf, report.graph.output_activation.size, timeout=600)
        row = {
            "model": name + (" coded" if coded else ""),
            "file": pathlib.Path(source).stat().st_size,
            "constants": report.weight_bytes,
            "arena": report.arena_bytes,
            "flash": size.flash,
            "ram": size.ram,
            "text": size.text,
            "m4": m4_instructions,
            "x86": host_instructions(report.directory) if callgrind else None,
        }
        if str(source).endswith(".tflite") and not coded:
            row["tflm_arena"] = tflm_arena(source)
            row["tflm_x86"] = tflm_instructions(source) if callgrind else None
        rows.append(row)
        print(
            f"  {row['model']}: flash {row['flash']:,} B, RAM {row['ram']:,} B, M4 {row['m4']:,} instructions",
            flush=True,
        )
    return rows


def kernel_comparison(data, out_dir, cmsis_source):
    """Ours portable / ours DSP (/ CMSIS-NN) per model and per layer type on the emulated M4."""
    sys.path.insert(0, str(REPOSITORY / "benchmarks" / "cmsis_nn"))
    import peer

    from edgequant.microcontroller import HostModel, export_c

    cmsis = None
    if cmsis_source:
        source = pathlib.Path(cmsis_source)
        cmsis = {"library": peer.build_library(source, out_dir / "cmsis_nn_build"), "include": source / "Include"}
    rows = []
    for name, file in MODELS.items():
        report = export_c(data / "tflite" / file, out_dir / f"{pathlib.Path(file).stem}_kernels")
        inputs = np.random.default_rng(0).integers(-128, 128, (2, report.graph.input_activation.size), dtype=np.int8)
        results = peer.measure(pathlib.Path(file).stem, report, inputs, cmsis)
        want = HostModel.from_report(report)(inputs)
        for flavour, result in results.items():
            if not np.array_equal(result["outputs"], want):
                raise AssertionError(f"{name}: {flavour} outputs differ from the host build")
        print(f"  {name}: " + ", ".join(f"{k} {v['total'] / 1e6:.2f} M" for k, v in results.items()), flush=True)
        rows.append((name, report.arena_bytes, results))
    peer.print_tables(rows)


def resnet_accuracy(data, out_dir, limit):
    from edgequant.datasets import load_cifar10
    from edgequant.microcontroller import HostModel, export_c

    report = export_c(data / "tflite" / MODELS["ResNet-8 (CIFAR-10)"], out_dir / "resnet_accuracy")
    host = HostModel.from_report(report)
    images, labels = load_cifar10(data / "cifar10" / "cifar10-jpg.tar.gz", split="test", limit=limit)
    correct = 0
    for start in tqdm(range(0, len(images), 500), desc="ResNet-8 on CIFAR-10 (C runtime)"):
        scores = host(report.graph.quantize_input(images[start : start + 500].astype(np.float32)))
        correct += int(np.sum(np.argmax(scores, axis=1) == labels[start : start + 500]))
    return correct / len(images), len(images)


def float_model_accuracy(data, limit):
    """The float MLPerf Tiny ResNet-8 (pretrainedResnet.tflite) on the same images, through TFLite Micro."""
    from tflite_micro.python.tflite_micro import runtime

    from edgequant.datasets import load_cifar10

    interpreter = runtime.Interpreter.from_file(str(data / "tflite" / "pretrainedResnet.tflite"))
    images, labels = load_cifar10(data / "cifar10" / "cifar10-jpg.tar.gz", split="test", limit=limit)
    correct = 0
    for image, label in tqdm(zip(images, labels, strict=True), total=len(images), desc="float ResNet-8 (TFLM)"):
        interpreter.set_input(image[None].astype(np.float32), 0)
        interpreter.invoke()
        correct += int(np.argmax(interpreter.get_output(0)) == label)
    return correct / len(images)


def print_tables(rows):
    print(
        "\n| model | file | constants | arena | flash (M4) | RAM (M4) | TFLM arena (head / total) "
        "| M4 instr./inference | x86 instr. ours | x86 instr. TFLM | TFLM / ours |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        tflm = r.get("tflm_arena") or {}
        arena_text = f"{tflm['head']:,} / {tflm['total']:,}" if tflm else "–"
        x86 = f"{r['x86'] / 1e6:.2f} M" if r.get("x86") else "–"
        peer = f"{r['tflm_x86'] / 1e6:.2f} M" if r.get("tflm_x86") else "–"
        ratio = f"{r['tflm_x86'] / r['x86']:.2f}" if r.get("tflm_x86") and r.get("x86") else "–"
        print(
            f"| {r['model']} | {r['file']:,} | {r['constants']:,} | {r['arena']:,} | {r['flash']:,} | {r['ram']:,} "
            f"| {arena_text} | {r['m4'] / 1e6:.2f} M | {x86} | {peer} | {ratio} |"
        )
    print("\n| model | flash saved by --coded-weights | arena added | M4 instructions added (decode) |")
    print("|---|---:|---:|---:|")
    for plain, coded in zip(rows[::2], rows[1::2], strict=True):
        saved = plain["flash"] - coded["flash"]
        print(
            f"| {plain['model']} | {saved:,} B ({saved / plain['flash']:.1%}) | {coded['ram'] - plain['ram']:,} B "
            f"| {(coded['m4'] - plain['m4']) / 1e6:.2f} M ({coded['m4'] / plain['m4'] - 1:+.1%}) |"
        )


def main(argv=None) -> int:
    from edgequant import zoo
    from edgequant.datasets import load_mnist, shared_data_dir
    from edgequant.microcontroller import cortex_m4

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accuracy-limit", type=int, default=10_000, help="CIFAR-10 test images for ResNet-8")
    parser.add_argument("--no-callgrind", action="store_true", help="skip the x86 instruction counts")
    parser.add_argument("--out", help="keep the exported models here (default: a temporary folder)")
    parser.add_argument(
        "--float-reference",
        action="store_true",
        help="also run the float ResNet-8 on the same images (TFLite Micro, slow)",
    )
    parser.add_argument("--accuracy-only", action="store_true", help="only the ResNet-8 accuracy")
    parser.add_argument(
        "--kernels-only", action="store_true", help="only the Cortex-M4 kernel comparison (portable / DSP / --cmsis-nn)"
    )
    parser.add_argument("--cmsis-nn", metavar="DIR", help="a CMSIS-NN source tree: measure it as the M4 peer")
    args = parser.parse_args(argv)
    data = shared_data_dir()
    if data is None or cortex_m4.toolchain_missing():
        print(f"needs the shared data (EDGEQUANT_DATA) and {cortex_m4.TOOLS}", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory() as scratch:
        out_dir = pathlib.Path(args.out or scratch)
        if not args.accuracy_only:
            print("Cortex-M4 kernels: ours portable / ours DSP" + (" / CMSIS-NN" if args.cmsis_nn else ""), flush=True)
            kernel_comparison(data, out_dir, args.cmsis_nn)
        if args.kernels_only:
            return 0
        rows = []
        for name, file in ({} if args.accuracy_only else MODELS).items():
            print(name, flush=True)
            rows += measure(name, data / "tflite" / file, out_dir, data, not args.no_callgrind)
        if not args.accuracy_only:
            x, _ = zoo.load_test_set()
            print("digits CNN (ONNX)", flush=True)
            rows += measure("digits CNN (ONNX)", zoo.model_path(), out_dir, data, not args.no_callgrind, x[:100])
            mnist, _ = load_mnist(limit=100)
            print("mnist-8 (ONNX)", flush=True)
            rows += measure(
                "mnist-8 (ONNX)", data / "models" / "mnist-8.onnx", out_dir, data, not args.no_callgrind, mnist
            )
            print_tables(rows)
        accuracy, count = resnet_accuracy(data, out_dir, args.accuracy_limit)
        print(
            f"\nResNet-8 int8, C runtime: {accuracy:.2%} top-1 on {count:,} CIFAR-10 test images "
            f"(MLPerf Tiny target 85 %; the shared set is JPEG re-encoded)"
        )
        if args.float_reference:
            print(
                f"float ResNet-8 (pretrainedResnet.tflite, TFLite Micro): "
                f"{float_model_accuracy(data, args.accuracy_limit):.2%} on the same images"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
