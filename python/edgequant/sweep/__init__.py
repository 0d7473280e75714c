"""Rate–distortion sweeps: every quantizer at every setting on a real network.

>>> from edgequant import zoo
>>> from edgequant.sweep import run_sweep, default_grid
>>> x, y = zoo.load_test_set()
>>> result = run_sweep(zoo.model_path(), x, y, grid=default_grid(max_bits=12), db="results.sqlite")
>>> result.best()                 # lowest entropy within 1 pp of FP32 top-1
>>> print(result.format_summary())  # the best point of every curve (paper Tables 3.9/3.10)
>>> result.plot("rd.png")          # entropy vs accuracy, one curve per method, FP32 dashed
>>> result.to_pandas()

Results are committed to SQLite point by point; rerunning the same sweep skips finished points.
On Dask: ``run_sweep(..., executor=dask.distributed.Client(...).get_executor())``.
"""

from .grid import default_grid, make_quantizer, point, point_key
from .result import SweepResult
from .runner import run_sweep
from .store import ResultStore
from .summary import best_within_budget, summary_table

__all__ = [
    "ResultStore",
    "SweepResult",
    "best_within_budget",
    "default_grid",
    "make_quantizer",
    "point",
    "point_key",
    "run_sweep",
    "summary_table",
]
