"""Run TensorFlow Lite Micro on a folder of jobs, in its own process: ``python tflm_worker.py FOLDER START``.

Job ``k`` is ``k.tflite`` with ``k.in.npy`` (int8 rows, one input each); the worker writes
``k.out.npy`` (int8 rows), ``k.error.txt`` (TFLite Micro refused the model) or ``k.unreadable.txt``
(its Python wrapper, which decodes every field of the file into objects, could not parse it). It
appends ``k`` to ``progress.txt`` before touching the model, so a parent that sees the process die
(a forged model can crash the interpreter) knows which job did it and starts a new worker after it.
"""

import pathlib
import sys

import numpy as np


def invoke_rows(interpreter, inputs) -> np.ndarray:
    """TensorFlow Lite Micro's flat output for each row of ``inputs`` (one int8 input each)."""
    shape = interpreter.get_input_details(0)["shape"]
    rows = []
    for x in inputs:
        interpreter.set_input(x.reshape(shape), 0)
        interpreter.invoke()
        rows.append(interpreter.get_output(0).reshape(-1).copy())
    return np.array(rows)


def main(folder: str, start: int) -> None:
    from tflite_micro.python.tflite_micro import runtime

    folder = pathlib.Path(folder)
    jobs = sorted(int(p.name.split(".")[0]) for p in folder.glob("*.tflite"))
    with open(folder / "progress.txt", "a") as progress:
        for k in (k for k in jobs if k >= start):
            progress.write(f"{k}\n")
            progress.flush()
            inputs = np.load(folder / f"{k}.in.npy")
            try:
                interpreter = runtime.Interpreter.from_bytes((folder / f"{k}.tflite").read_bytes(),
                                                             arena_size=1 << 22)
            except RuntimeError as error:  # the C++ interpreter refused the model
                (folder / f"{k}.error.txt").write_text(f"RuntimeError: {error}")
                continue
            except Exception as error:  # noqa: BLE001 - the Python wrapper decodes the whole file first
                (folder / f"{k}.unreadable.txt").write_text(f"{type(error).__name__}: {error}")
                continue
            try:
                np.save(folder / f"{k}.out.npy", invoke_rows(interpreter, inputs))
            except Exception as error:  # noqa: BLE001 - any refusal by TFLite Micro is an answer to record
                (folder / f"{k}.error.txt").write_text(f"{type(error).__name__}: {error}")


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
