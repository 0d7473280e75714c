"""Differential fuzzer of ``export-c`` with TFLite input: random valid int8 models and forged / mutated
ones (tflite_mutations.py) go through :func:`export_c`; every export it accepts is compiled with
AddressSanitizer and UBSan (``-fno-sanitize-recover=all``), run on random int8 inputs in buffers of
exactly the declared sizes, and must equal TensorFlow Lite Micro bit for bit. Anything else must be
refused at export with a ``ValueError``.

All accepted models are compiled into one program (compiling is the cost), built twice (the fast
kernels and, with ``-DEQ_FORCE_REFERENCE``, the plain references), which runs once per model so that
a sanitizer report names its model. TensorFlow Lite Micro runs in its own process: a forged
file may crash it. ``EDGEQUANT_EXPORT_FUZZ_CASES`` (default 160) and ``EDGEQUANT_EXPORT_FUZZ_SEED``
set the run; the counts are printed (``pytest -s`` shows them).
"""

from __future__ import annotations

import collections
import os
import subprocess
import sys

import numpy as np
import pytest
from mcu_models import REPOSITORY
from random_tflite_models import random_model
from tflite_forge import serialize
from tflite_mutations import mutate

from edgequant.microcontroller import export_c
from edgequant.microcontroller.host import c_compiler
from edgequant.microcontroller.runtime_sources import runtime_dir

CASES = int(os.environ.get("EDGEQUANT_EXPORT_FUZZ_CASES", "160"))
SEED = int(os.environ.get("EDGEQUANT_EXPORT_FUZZ_SEED", "2026"))
VALID_SHARE = 0.3  # cases left unmutated: all of these must be accepted and match
INPUT_ROWS = 6
MAX_RUN_SIZE = 1 << 24  # bytes: the seeds are small; an accepted export past this is a forged size that got through
SANITIZERS = ("-O1", "-g", "-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-fno-omit-frame-pointer")
SANITIZER_ENV = {"ASAN_OPTIONS": "detect_leaks=0:abort_on_error=0",
                 "UBSAN_OPTIONS": "halt_on_error=1:print_stacktrace=1"}
STILL_VALID = {"opcodes_builtin", "opcodes_deprecated"}  # mutations that leave a valid model (either opcode field)
KERNELS = {"fast": (), "reference": ("-DEQ_FORCE_REFERENCE",)}
WORKER = REPOSITORY / "tests" / "python" / "microcontroller" / "tflm_worker.py"

DRIVER = r"""
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

typedef int (*eq_invoke)(const int8_t *, int8_t *);
%(declarations)s
static const eq_invoke models[] = {%(models)s};
static const long input_sizes[] = {%(inputs)s};
static const long output_sizes[] = {%(outputs)s};

/* driver K IN OUT: rows of input_sizes[K] bytes from IN, each run in buffers of exactly the
 * declared sizes (so the sanitizer sees any access past them), outputs appended to OUT */
int main(int argc, char **argv) {
    int k;
    FILE *in, *out;
    if (argc != 4) {
        return 2;
    }
    k = atoi(argv[1]);
    in = fopen(argv[2], "rb");
    out = fopen(argv[3], "wb");
    if (in == NULL || out == NULL) {
        return 2;
    }
    for (;;) {
        int8_t *x = (int8_t *)malloc((size_t)input_sizes[k]);
        int8_t *y = (int8_t *)malloc((size_t)output_sizes[k]);
        int status;
        if (x == NULL || y == NULL || fread(x, 1, (size_t)input_sizes[k], in) != (size_t)input_sizes[k]) {
            free(x);
            free(y);
            break;
        }
        status = models[k](x, y);
        if (status != 0) {
            return 3;
        }
        fwrite(y, 1, (size_t)output_sizes[k], out);
        free(x);
        free(y);
    }
    fclose(in);
    fclose(out);
    return 0;
}
"""


def _cases(count, seed):
    """(number, flatbuffer, label, valid): a share of valid random models, the rest mutated."""
    rng = np.random.default_rng(seed)
    for k in range(count):
        spec = random_model(rng)
        if rng.random() < VALID_SHARE:
            yield k, serialize(spec), "valid", True
        else:
            data, label = mutate(spec, rng)
            yield k, data, label, False


class _Unreadable(str):
    """TFLite Micro's Python wrapper could not decode the file (it converts every field, including ones
    neither interpreter needs, e.g. a damaged description), so there is no reference to compare with."""


def _reference_outputs(folder, jobs):
    """TensorFlow Lite Micro's outputs per job (or the error text), restarting the worker after a crash."""
    start, crashed = 0, {}
    while True:
        result = subprocess.run([sys.executable, str(WORKER), str(folder), str(start)], capture_output=True,
                                text=True, timeout=600, cwd=WORKER.parent)
        if result.returncode == 0:
            break
        done = [int(line) for line in (folder / "progress.txt").read_text().split()]
        crashed[done[-1]] = f"TFLite Micro died (exit {result.returncode}): {result.stderr[-300:]}"
        start = done[-1] + 1
    answers = {}
    for k in jobs:
        if k in crashed:
            answers[k] = crashed[k]
        elif (folder / f"{k}.out.npy").is_file():
            answers[k] = np.load(folder / f"{k}.out.npy")
        elif (folder / f"{k}.unreadable.txt").is_file():
            answers[k] = _Unreadable((folder / f"{k}.unreadable.txt").read_text())
        else:
            answers[k] = (folder / f"{k}.error.txt").read_text()
    return answers


def _sources(folder, accepted):
    """The C of one program holding every accepted model (``edgequant_invoke_K``) and its driver."""
    sources = [str(p) for p in sorted(runtime_dir().glob("*.c"))]
    for k, report in accepted.items():
        wrapper = folder / f"model_{k}.c"
        # model.c includes its own model.h, which declares edgequant_invoke: renamed per model
        wrapper.write_text(f'#define edgequant_invoke edgequant_invoke_{k}\n#include "{report.directory}/model.c"\n')
        sources.append(str(wrapper))
    keys = sorted(accepted)
    driver = folder / "driver.c"
    driver.write_text(DRIVER % {
        "declarations": "\n".join(f"int edgequant_invoke_{k}(const int8_t *, int8_t *);" for k in keys),
        "models": ", ".join(f"edgequant_invoke_{k}" for k in keys),
        "inputs": ", ".join(str(accepted[k].graph.input_activation.size) for k in keys),
        "outputs": ", ".join(str(accepted[k].graph.output_activation.size) for k in keys)})
    return [*sources, str(driver)], {k: i for i, k in enumerate(keys)}


def _compile(folder, sources, name, flags):
    binary = folder / name
    build = subprocess.run([c_compiler(), "-std=c99", "-Wall", "-Wextra", "-Werror", *SANITIZERS, *flags,
                            f"-I{runtime_dir()}", *sources, "-o", str(binary)], capture_output=True, text=True)
    if build.returncode != 0 and "cannot find" in build.stderr:
        pytest.skip(f"the sanitizer runtimes are not installed: {build.stderr[-300:]}")
    assert build.returncode == 0, build.stderr[-4000:]
    return binary


def _run_c(binary, index, inputs, folder, k):
    """(outputs or None, sanitizer report or other failure text)."""
    (folder / f"{k}.in.bin").write_bytes(inputs.tobytes())
    out = folder / f"{k}.c_out.bin"
    result = subprocess.run([str(binary), str(index), str(folder / f"{k}.in.bin"), str(out)], capture_output=True,
                            text=True, timeout=60, env={**os.environ, **SANITIZER_ENV})
    if result.returncode != 0:
        return None, f"exit {result.returncode}: {result.stderr[-1500:]}"
    return np.frombuffer(out.read_bytes(), np.int8).reshape(len(inputs), -1), ""


def test_export_is_exact_or_refused(tmp_path, capsys):
    pytest.importorskip("tflite")
    pytest.importorskip("tflite_micro.python.tflite_micro.runtime", reason="tflite-micro not installed")
    counts = collections.Counter()
    labels = collections.Counter()
    blind = collections.Counter()  # accepted mutants TFLite Micro's Python wrapper could not decode, by mutation
    failures, accepted, inputs, labels_of = [], {}, {}, {}
    references = tmp_path / "tflm"
    references.mkdir()
    rng = np.random.default_rng(SEED + 1)
    for k, data, label, valid in _cases(CASES, SEED):
        counts["cases"] += 1
        path = tmp_path / f"{k}.tflite"
        path.write_bytes(data)
        try:
            report = export_c(path, tmp_path / f"case{k}")
        except ValueError as error:
            counts["refused"] += 1
            labels[label.split("+")[0]] += 1
            message = str(error)
            if valid or label in STILL_VALID:
                failures.append(f"case {k} ({label}): a valid model was refused: {message}")
            elif not message.strip() or "Traceback" in message:
                failures.append(f"case {k} ({label}): refused without a reason: {message!r}")
            continue
        except Exception as error:  # noqa: BLE001 - anything but ValueError is a bug the fuzzer reports
            failures.append(f"case {k} ({label}): export raised {type(error).__name__}: {error}")
            continue
        counts["accepted"] += 1
        size, out_size = report.graph.input_activation.size, report.graph.output_activation.size
        if not (0 < size <= MAX_RUN_SIZE and 0 < out_size <= MAX_RUN_SIZE and report.arena_bytes <= MAX_RUN_SIZE):
            failures.append(f"case {k} ({label}): accepted with input {size}, output {out_size}, arena "
                            f"{report.arena_bytes} bytes")
            continue
        accepted[k], labels_of[k] = report, label
        rows = rng.integers(-128, 128, (INPUT_ROWS, size), dtype=np.int8)
        rows[0], rows[1] = -128, 127  # the extremes too
        inputs[k] = rows
        (references / f"{k}.tflite").write_bytes(data)
        np.save(references / f"{k}.in.npy", rows)
    if accepted:
        want = _reference_outputs(references, sorted(accepted))
        sources, index = _sources(tmp_path, accepted)
        # the fast kernels (the default) and the plain references (-DEQ_FORCE_REFERENCE) must both be exact
        binaries = {name: _compile(tmp_path, sources, f"driver_{name}", flags) for name, flags in KERNELS.items()}
        for k in sorted(accepted):
            runs = {name: _run_c(binary, index[k], inputs[k], tmp_path, k) for name, binary in binaries.items()}
            troubles = [f"{name} kernels: {trouble}" for name, (got, trouble) in runs.items() if got is None]
            if troubles:
                counts["sanitizer_or_crash"] += 1
                failures.append(f"case {k}: the generated C failed under the sanitizers: {troubles[0]}")
                continue
            got = runs["fast"][0]
            if not np.array_equal(got, runs["reference"][0]):
                failures.append(f"case {k}: the fast and the reference kernels differ")
                continue
            counts["compiled_and_run"] += 1
            reference = want[k]
            if isinstance(reference, _Unreadable) and labels_of[k] != "valid":
                # damaged bytes, or an options union of a type nothing reads, left the reference's decoder blind
                counts["no_reference_undecodable"] += 1
                blind[labels_of[k]] += 1
            elif isinstance(reference, str):
                failures.append(f"case {k} ({labels_of[k]}): export accepted a model TFLite Micro refuses: "
                                f"{reference[:300]}")
            elif reference.shape != got.shape or not np.array_equal(reference, got):
                first = np.argwhere(reference.reshape(got.shape) != got)[0] if reference.size == got.size else None
                failures.append(f"case {k} ({labels_of[k]}): differs from TFLite Micro (shapes {reference.shape} / "
                                f"{got.shape}, first difference at {first})")
            else:
                counts["equal_to_tflm"] += 1
    with capsys.disabled():
        print(f"\nexport-c fuzz (seed {SEED}): {dict(counts)}; refused by mutation: {dict(labels)}; "
              f"no reference by mutation: {dict(blind)}")
    assert not failures, f"{len(failures)} failures of {CASES} cases:\n" + "\n".join(failures[:20])
    assert counts["sanitizer_or_crash"] == 0
    # the harness must have compared a fair share of exports, or it proves nothing
    assert counts["equal_to_tflm"] >= CASES * VALID_SHARE / 2, dict(counts)
