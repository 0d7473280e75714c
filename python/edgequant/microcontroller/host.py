"""Build an exported model for this machine and call it from Python (ctypes): how the tests and
benchmarks run the C runtime."""

from __future__ import annotations

import ctypes
import hashlib
import os
import pathlib
import shutil
import subprocess

import numpy as np


def c_compiler() -> str:
    """The host C compiler (``$CC``, else cc / gcc / clang)."""
    for candidate in (os.environ.get("CC"), "cc", "gcc", "clang"):
        if candidate and shutil.which(candidate):
            return candidate
    raise FileNotFoundError("no C compiler found: install gcc (apt-get install gcc) or set CC")


def compile_shared(directory, output=None, flags=("-O2",)) -> pathlib.Path:
    """Compile ``directory/*.c`` with ``-std=c99 -Wall -Wextra -Werror`` into a shared library."""
    directory = pathlib.Path(directory)
    # one file per set of flags: a library already loaded must not be overwritten
    tag = hashlib.sha1(" ".join(flags).encode()).hexdigest()[:8]
    output = pathlib.Path(output or directory / f"libedgequant_model_{tag}.so")
    sources = sorted(str(p) for p in directory.glob("*.c"))
    command = [c_compiler(), "-std=c99", "-Wall", "-Wextra", "-Werror", "-shared", "-fPIC", *flags,
               *sources, "-o", str(output)]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"compiling the exported model failed:\n{result.stderr[-4000:]}")
    return output


class HostModel:
    """An exported model compiled for the host, called through ``edgequant_invoke``.

    Parameters
    ----------
    directory : str or os.PathLike
        The folder :func:`~.export.export_c` wrote.
    input_size, output_size : int
        ``EDGEQUANT_INPUT_SIZE`` / ``EDGEQUANT_OUTPUT_SIZE``.
    flags : sequence of str, default ("-O2",)
        Compiler flags for the shared library.
    """

    def __init__(self, directory, input_size: int, output_size: int, flags=("-O2",)):
        self.library_path = compile_shared(directory, flags=flags)
        self._library = ctypes.CDLL(str(self.library_path))
        self._invoke = self._library.edgequant_invoke
        self._invoke.restype = ctypes.c_int
        self._invoke.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
        self.input_size, self.output_size = int(input_size), int(output_size)

    @classmethod
    def from_report(cls, report, flags=("-O2",)):
        return cls(report.directory, report.graph.input_activation.size, report.graph.output_activation.size, flags)

    def __call__(self, x) -> np.ndarray:
        """Run on int8 inputs: one (``input_size`` values) or a batch (first axis)."""
        x = np.asarray(x)
        if x.dtype != np.int8:
            raise TypeError(f"the exported model takes int8 inputs, got {x.dtype}")
        single = x.size == self.input_size
        batch = np.ascontiguousarray(x.reshape(1 if single else x.shape[0], -1))
        if batch.shape[1] != self.input_size:
            raise ValueError(f"each input must have {self.input_size} values, got {batch.shape[1]}")
        out = np.empty((batch.shape[0], self.output_size), np.int8)
        for row in range(batch.shape[0]):
            status = self._invoke(batch[row].ctypes.data, out[row].ctypes.data)
            if status != 0:
                raise RuntimeError(f"edgequant_invoke returned {status}")
        return out[0] if single else out
