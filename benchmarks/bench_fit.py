"""Weight-distribution fitting (SPEC §3) against scipy.stats' maximum-likelihood fits.

edgequant: ``fit_distributions`` on N synthetic Laplacian float32 weights (default 25 M), all
10 families by both criteria (SSE and KL): one parallel pass over the data, then the fits on
the histogram. The peer: ``scipy.stats.<family>.fit`` (MLE, the usual way to fit these
families) for the same 10 families. scipy's fit is O(n) per likelihood evaluation and takes
minutes at 25 M, so it runs on a subsample (default 10^5 values) and its time is extrapolated
linearly to N (time × N / subsample). The output says so; the ratio is against that
extrapolation. Targets: edgequant ≤ 1 s on 2 cores, ≥ 50× faster than scipy.

    python benchmarks/bench_fit.py                       # 25 M weights, scipy on 1e5
    python benchmarks/bench_fit.py --n 5e6 --scipy-n 2e5
"""

from __future__ import annotations

import argparse
import os
import platform
import time
import warnings

import numpy as np

import edgequant
from edgequant.fit import FAMILIES, fit_distributions


def _best_time(fn, repeats):
    best, result = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def run(n: int = 25_000_000, scipy_n: int = 100_000, repeats: int = 3, seed: int = 0, print_fn=print) -> dict:
    """Time edgequant and scipy on Laplacian weights; returns the numbers and the ratio."""
    import scipy
    import scipy.stats as st

    n, scipy_n = int(n), int(min(scipy_n, n))
    rng = np.random.default_rng(seed)
    weights = rng.laplace(0.0, 0.02, n).astype(np.float32)
    threads = edgequant._core.max_threads()
    print_fn(f"bench_fit: {n:,} Laplacian float32 weights (scale 0.02), {len(FAMILIES)} families, "
             f"{threads} threads, {platform.processor() or platform.machine()}, scipy {scipy.__version__}")

    fit_distributions(weights[:100_000])  # warm-up (first call pays the thread start-up)
    ours, report = _best_time(lambda: fit_distributions(weights), repeats)
    print_fn(f"edgequant fit_distributions (all families × SSE and KL): {ours:.3f} s "
             f"(best of {repeats}); best: SSE {report.best('sse').family}, KL {report.best('kl').family}")

    subsample = weights[:scipy_n].astype(np.float64)
    scipy_times = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scipy's optimisers warn on the poorly fitting families
        for family in FAMILIES:
            start = time.perf_counter()
            getattr(st, family).fit(subsample)
            scipy_times[family] = time.perf_counter() - start
    scipy_measured = sum(scipy_times.values())
    scipy_extrapolated = scipy_measured * n / scipy_n
    per_family = ", ".join(f"{k} {v:.2f}" for k, v in scipy_times.items())
    print_fn(f"scipy.stats.<family>.fit (MLE), all families, MEASURED on a {scipy_n:,}-value subsample: "
             f"{scipy_measured:.2f} s ({per_family})")
    print_fn(f"scipy EXTRAPOLATED linearly to {n:,} values (× {n / scipy_n:g}): {scipy_extrapolated:.1f} s")
    ratio = scipy_extrapolated / ours
    print_fn(f"ratio scipy(extrapolated) / edgequant: {ratio:.0f}×  (targets: edgequant ≤ 1 s, ratio ≥ 50×)")
    return {
        "n": n, "threads": threads, "edgequant_s": ours, "scipy_subsample_n": scipy_n,
        "scipy_measured_s": scipy_measured, "scipy_per_family_s": scipy_times,
        "scipy_extrapolated_s": scipy_extrapolated, "ratio": ratio,
        "best_sse": report.best("sse").family, "best_kl": report.best("kl").family,
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=float, default=25e6, help="number of weights (default 25e6)")
    parser.add_argument("--scipy-n", type=float, default=1e5, help="scipy's subsample size (default 1e5)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=int(os.environ.get("EDGEQUANT_NUM_THREADS", "0")),
                        help="edgequant threads (0: all cores)")
    args = parser.parse_args(argv)
    edgequant.set_num_threads(args.threads)
    run(n=int(args.n), scipy_n=int(args.scipy_n), repeats=args.repeats)


if __name__ == "__main__":
    main()
