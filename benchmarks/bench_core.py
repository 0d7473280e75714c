"""Core kernels against NumPy and memcpy, in one run (issue: core quantizers, entropy, coder).

For each quantizer: fused quantize-dequantize ``q(x)`` on N float32 values (default 64 M =
256 MB) against (a) a NumPy implementation of the same formula and (b) ``np.copyto`` of the
same array, the memory-bandwidth yardstick. Also the peak extra memory of ``q(x)``, the entropy
estimate's throughput, and the entropy coder (benchmarks/bench_coding.py).

    python benchmarks/bench_core.py            # 64 M values
    python benchmarks/bench_core.py --n 8e6    # quicker
"""

from __future__ import annotations

import argparse
import os
import platform
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from _measure import best_time, peak_extra_bytes  # noqa: E402

import edgequant  # noqa: E402
from edgequant import entropy  # noqa: E402
from edgequant.quantizers import Affine, Deadzone, Midrise, Midtread, MuLaw, PowerOfTwo, PruneQuantize  # noqa: E402

try:
    from edgequant.quantizers import Minifloat
except ImportError:  # pragma: no cover - before the minifloat family lands
    Minifloat = None


def numpy_midtread(x, L):
    d = np.float32(2.0 / L)
    return np.clip(np.rint(x / d), -(L // 2), L // 2) * d


def numpy_midrise(x, L):
    d = np.float32(2.0 / L)
    q = np.clip(np.ceil(np.abs(x) / d), 1, L // 2)
    return np.where(x < 0, -1, 1) * d * (q - np.float32(0.5))


def numpy_deadzone(x, L, delta):
    d = np.float32(2.0 / L)
    q = np.clip(np.ceil(np.abs(x) / d - np.float32(delta)), 0, L // 2)
    return np.where(q == 0, 0, np.where(x < 0, -1, 1) * d * (q + np.float32(delta - 0.5)))


def numpy_mulaw(x, L, mu=255.0):
    y = np.log1p(mu * np.minimum(np.abs(x), 1.0)) / np.log1p(mu)
    q = np.clip(np.rint(y / (2.0 / L)), 0, L // 2)
    return (np.sign(x) * np.expm1(q * (2.0 / L) * np.log1p(mu)) / mu).astype(np.float32)


def numpy_affine(x, bits):
    qmax = 2 ** (bits - 1) - 1
    s = np.float32(2 * np.abs(x).max() / (2 * qmax + 1))
    return np.clip(np.rint(x / s), -qmax - 1, qmax) * s


def numpy_prune(x, gamma, bits):
    beta = gamma * x.std(dtype=np.float64)
    h = np.where(np.abs(x) >= beta, x, 0)
    step = np.float32((np.abs(h).max() - beta) / (2 ** (bits - 1) - 1))
    return np.rint(h / step) * step


def numpy_power_of_two(x, bits):
    k = 2 ** (bits - 1) - 1  # with a zero level; xmax = 1: boundaries at sqrt(2)·2^(j-K)
    j = np.clip(np.floor(np.log2(np.abs(x) / np.sqrt(2.0))) + k + 1, 0, k)
    return np.where(j > 0, np.sign(x) * np.exp2(j - k), 0).astype(np.float32)


def numpy_fp16(x):
    return x.astype(np.float16).astype(np.float32)


def cases():
    L = 256
    rows = [
        ("midtread", Midtread(L), lambda x: numpy_midtread(x, L), True),
        ("midrise", Midrise(L), lambda x: numpy_midrise(x, L), True),
        ("deadzone d=0.7", Deadzone(L, 0.7), lambda x: numpy_deadzone(x, L, 0.7), True),
        ("affine int8", Affine(8), lambda x: numpy_affine(x, 8), True),
        ("affine int8 per-channel", Affine(8, axis=0), None, False),
        ("mu-law", MuLaw(L), lambda x: numpy_mulaw(x, L), False),
        ("prune g=0.5 b=8", PruneQuantize(0.5, 8), lambda x: numpy_prune(x, 0.5, 8), False),
        ("power-of-two b=4", PowerOfTwo(4), lambda x: numpy_power_of_two(x, 4), False),
    ]
    if Minifloat is not None:
        rows.append(("minifloat fp16", Minifloat.fp16(), numpy_fp16, False))
        rows.append(("minifloat paper (4,3)", Minifloat(4, 3), None, False))
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=float, default=64e6, help="number of float32 values (default 64e6)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--skip-coder", action="store_true")
    args = parser.parse_args(argv)
    n = int(args.n)
    print(f"edgequant {edgequant.__version__}  numpy {np.__version__}  {platform.processor() or platform.machine()}"
          f"  threads={edgequant._core.max_threads()}  N={n:,} float32 ({n * 4 / 2**20:.0f} MiB)")
    x = np.random.default_rng(0).laplace(0, 0.05, n).astype(np.float32)
    out = np.empty_like(x)
    copy_s = best_time(lambda: np.copyto(out, x), args.repeats)
    copy_gbs = 2 * x.nbytes / copy_s / 1e9
    print(f"np.copyto: {copy_s * 1e3:.1f} ms = {copy_gbs:.2f} GB/s (read + write)\n")
    print("q(x,out): output buffer reused; q(x): allocates its output (first-touch page faults included).\n"
          "numpy: best of the repeats (warm: its temporaries' pages already mapped); numpy 1st: its first call.\n"
          "vs numpy = numpy (warm) / q(x,out); vs copy = np.copyto / q(x,out).\n")
    header = (f"{'quantizer':24s} {'q(x,out)':>9s} {'q(x)':>9s} {'numpy':>9s} {'numpy 1st':>10s} {'vs numpy':>9s}"
              f" {'vs copy':>8s} {'peak extra':>11s}  targets (>=10x numpy, >=0.5x copy, peak<=out)")
    print(header)
    print("-" * len(header))
    results = []
    # Per-channel runs on a weight-shaped view: 1024 output channels (rows).
    rows = x.reshape(1024, -1) if n % 1024 == 0 else x.reshape(1, -1)
    for name, quantizer, numpy_fn, targeted in cases():
        data = rows if "per-channel" in name else x
        ours_out = best_time(lambda q=quantizer, d=data: q(d, out=out.reshape(d.shape)), args.repeats)
        ours = best_time(lambda q=quantizer, d=data: q(d), args.repeats)
        peak = peak_extra_bytes(lambda q=quantizer, d=data: q(d))
        first = best_time(lambda f=numpy_fn: f(x), 1) if numpy_fn else float("nan")
        theirs = min(first, best_time(lambda f=numpy_fn: f(x), args.repeats)) if numpy_fn else float("nan")
        vs_numpy = theirs / ours_out
        vs_copy = copy_s / ours_out
        verdict = ""
        if targeted:
            ok = vs_numpy >= 10 and vs_copy >= 0.5 and peak <= x.nbytes * 1.02
            verdict = "MET" if ok else "MISSED"
        print(f"{name:24s} {ours_out * 1e3:7.1f}ms {ours * 1e3:7.1f}ms {theirs * 1e3:7.1f}ms {first * 1e3:8.1f}ms"
              f" {vs_numpy:8.1f}x"
              f" {vs_copy:7.2f}x {peak / 2**20:8.0f} MiB  {verdict}")
        results.append({"quantizer": name, "ms_out": ours_out * 1e3, "ms": ours * 1e3, "numpy_ms": theirs * 1e3,
                        "numpy_first_ms": first * 1e3,
                        "vs_numpy": vs_numpy, "vs_copy": vs_copy, "peak_extra_mib": peak / 2**20})
    symbols = Midtread(256).encode(x)
    entropy_s = best_time(lambda: entropy.entropy(symbols), args.repeats)
    numpy_s = best_time(lambda: np.unique(symbols, return_counts=True), 2)
    gbs = symbols.nbytes / entropy_s / 1e9
    print(f"\nentropy of {n:,} int32 symbols ({entropy.entropy(symbols):.3f} bits): {entropy_s * 1e3:.1f} ms ="
          f" {gbs:.2f} GB/s (target >= 1 GB/s: {'MET' if gbs >= 1 else 'MISSED'});"
          f" np.unique counting {numpy_s * 1e3:.0f} ms ({numpy_s / entropy_s:.0f}x slower)")
    float_s = best_time(lambda: entropy.float_entropy(x[: n // 4]), 1)
    print(f"float32 bit-pattern entropy of {n // 4:,} weights: {float_s * 1e3:.0f} ms")
    if not args.skip_coder:
        try:
            import bench_coding
        except ImportError:
            print("\n(coder benchmark not available)")
        else:
            print()
            bench_coding.run(n_symbols=n)
    return results


if __name__ == "__main__":
    main()
