"""edgequant: quantize, compress and analyse neural networks for low-resource hardware.

The compiled core (``edgequant._core``) holds the kernels; this package holds the checks,
docstrings and the workflows built on them:

- :mod:`edgequant.quantizers` — midtread, midrise, dead-zone, μ-law, minifloat, affine INT-N,
  prune-then-quantize (one registry, :data:`QUANTIZERS`);
- :mod:`edgequant.entropy` — entropy estimates, compression ratio, distortion;
- :mod:`edgequant.onnx` — ONNX import: weights by role, per-layer statistics, file composition;
- :mod:`edgequant.metrics` — classification, ranking and fidelity metrics;
- :mod:`edgequant.zoo` — the embedded default models (scikit-learn digits CNNs).
"""

from . import _core
from .quantizers import QUANTIZERS

__version__ = _core.__version__

__all__ = ["QUANTIZERS", "Engine", "__version__", "profile", "set_num_threads", "use_reference_kernels"]


def __getattr__(name):
    # The engine loads oneDNN: import it only when asked for.
    if name == "Engine":
        from . import engine

        return engine.Engine
    if name == "profile":  # the profiler (edgequant.profiling) times the engine beside its peers
        from .profiling import profile

        return profile
    raise AttributeError(f"module 'edgequant' has no attribute {name!r}")


def set_num_threads(threads: int) -> None:
    """Threads the C++ core may use for long loops (0 restores the default: all cores)."""
    _core.set_max_threads(int(threads))


class use_reference_kernels:
    """Context manager forcing the scalar reference kernels, e.g. to double-check a result.

    >>> with edgequant.use_reference_kernels():
    ...     w_hat = quantizer(w)
    """

    def __enter__(self):
        self._previous = _core.force_reference()
        _core.set_force_reference(True)
        return self

    def __exit__(self, *exc):
        _core.set_force_reference(self._previous)
        return False
