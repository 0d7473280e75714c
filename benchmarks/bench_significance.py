"""Per-channel significance throughput: serial, the local pool, any executor, a Dask cluster.

Evaluations per second of :func:`edgequant.mixed_precision.significance_tables` (ONNX Runtime
backend, per channel, each run into a fresh SQLite results file as ``edgequant mpq --db`` does)
on a real shared model and its data:

- ``serial``: ``workers=1``, in this process;
- ``local pool``: ``workers=2``, the function's own process pool (its start-up included);
- ``executor``: a ``concurrent.futures.ProcessPoolExecutor(2)`` already started (the generic
  executor path: the job is sent to a worker with the first batch it asks for);
- ``dask``: a ``dask.distributed.LocalCluster`` of 2 worker processes, 1 thread each, already
  started (the job is scattered once; workers import edgequant on their first batch, included).

Two rates per mode: over the whole call (``wall``: set-up, pool start-up, the first batch's
runner build) and in the steady state (``steady``: evaluations committed after the first commit
over the time from the first commit to the last). The executor path's overhead is ``dask`` (and
``executor``) against ``local pool``; goal <= 10 %. Each run is a new job (``batch_size`` varies
above the number of images: one ONNX Runtime batch each, another job key), so no worker reuses a
runner an earlier run built. Modes are interleaved and each keeps its best of ``--repeats`` runs:
other work on shared cores only slows a run down. The load average is printed with the numbers.

    python benchmarks/bench_significance.py                       # cifar10_tutorial_cnn, 200 images
    python benchmarks/bench_significance.py --samples 100 --bits 2 --repeats 1   # quicker
    python benchmarks/bench_significance.py --zoo digits_mlp     # ~1 ms evaluations: the fixed cost per batch
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "python"))

MODES = ("serial", "local pool", "executor", "dask")


def _warm() -> int:
    import edgequant.mixed_precision.significance_worker  # noqa: F401 - what the batches import

    return os.getpid()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="cifar10_tutorial_cnn.onnx", help="a classifier of the shared models/")
    parser.add_argument("--zoo", metavar="NAME", help="a shipped model on its test set instead (e.g. digits_mlp)")
    parser.add_argument("--samples", type=int, default=200, help="images (balanced over the classes)")
    parser.add_argument("--critical", default="3,5", help="critical classes (default cat, dog)")
    parser.add_argument("--bits", type=int, nargs="+", default=[2, 4, 8])
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()

    import distributed

    from edgequant.datasets import shared_data_dir
    from edgequant.datasets.model_data import model_data
    from edgequant.mixed_precision import list_components, significance_tables
    from edgequant.mixed_precision.significance_store import SignificanceStore

    if args.zoo:
        from edgequant import zoo

        model, (x, y) = zoo.model_path(args.zoo), zoo.load_test_set()
    else:
        model = shared_data_dir() / "models" / args.model
        x, y = model_data(args.model, limit=args.samples)
    critical = [int(c) for c in args.critical.split(",")]
    evaluations = 1 + len(args.bits) * len(list_components(model, per_channel=True))
    print(f"{Path(model).name}: {evaluations} evaluations (FP32 + {len(args.bits)} widths x channels) "
          f"on {len(x)} images, critical {critical}; load average {os.getloadavg()[0]:.1f}")

    commits = []
    add_evaluations = SignificanceStore.add_evaluations

    def timed(store, job_id, rows, worker=None):
        add_evaluations(store, job_id, rows, worker)
        commits.append((time.perf_counter(), len(rows)))

    SignificanceStore.add_evaluations = timed
    best = dict.fromkeys(MODES, float("inf"))
    steady = dict.fromkeys(MODES, 0.0)
    results = {}
    with (
        tempfile.TemporaryDirectory() as folder,
        distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None) as cluster,
        distributed.Client(cluster) as client,
        ProcessPoolExecutor(2) as pool,
    ):
        list(pool.map(time.sleep, [0.2, 0.2]))  # both processes started
        executors = {"serial": None, "local pool": None, "executor": pool, "dask": client.get_executor()}
        run = 0
        for _ in range(args.repeats):
            for mode in MODES:
                run += 1
                commits.clear()
                start = time.perf_counter()
                tables = significance_tables(model, x, y, critical, args.bits, per_channel=True,
                                             workers=2 if mode == "local pool" else 1, executor=executors[mode],
                                             db=Path(folder) / f"run{run}.sqlite", progress=False,
                                             batch_size=len(x) + run)
                best[mode] = min(best[mode], time.perf_counter() - start)
                (first, first_rows), (last, _) = commits[0], commits[-1]
                steady[mode] = max(steady[mode], (evaluations - first_rows) / (last - first))
                assert results.setdefault("tables", tables) == tables, f"{mode} differs from the serial costs"
    print(f"load average after: {os.getloadavg()[0]:.1f}")
    print(f"{'mode':<11} {'wall s':>7} {'eval/s':>7} {'vs pool':>8} {'steady eval/s':>14} {'vs pool':>8}")
    for mode in MODES:
        overhead = best[mode] / best["local pool"] - 1
        slower = steady["local pool"] / steady[mode] - 1
        print(f"{mode:<11} {best[mode]:>7.2f} {evaluations / best[mode]:>7.1f} {100 * overhead:>+7.1f}% "
              f"{steady[mode]:>14.1f} {100 * slower:>+7.1f}%")
    print("costs identical in every mode")


if __name__ == "__main__":
    main()
