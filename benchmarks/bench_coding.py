"""Throughput and coded size of edgequant's rANS coder against zstd -19 and xz -9e.

Symbols are i.i.d. Laplacian values quantized with a midtread step (about 5 bits of entropy),
the shape of quantized weights. For each stream size this measures encode and decode
throughput (best of a few runs, all cores) and the coded size as ratios to the ideal N·H and
to zstd level 19 and xz preset 9|extreme of the same symbols stored as the narrowest integer
dtype, all measured in the same run. zstd -19 and xz -9e run at ~0.5-3 M symbols/s, so by
default they compress only the first 4M symbols of a longer stream (compared with edgequant's
coding of that same prefix); ``--peer-max-symbols 0`` gives them the whole stream (minutes).

    .venv/bin/python benchmarks/bench_coding.py            # 64M and 1M symbols
    .venv/bin/python benchmarks/bench_coding.py --n-symbols 4000000 --no-peers
"""

from __future__ import annotations

import argparse
import lzma
import time

import numpy as np

from edgequant import _core, coding

STEP = 0.17  # quantization step of a unit Laplacian: about 5 bits of entropy


def laplacian_symbols(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.rint(rng.laplace(0.0, 1.0, n) / STEP).astype(np.int32)


def narrowest(symbols: np.ndarray) -> np.ndarray:
    for dtype in (np.int8, np.int16):
        info = np.iinfo(dtype)
        if symbols.min() >= info.min and symbols.max() <= info.max:
            return symbols.astype(dtype)
    return symbols


def best_time(fn, repeats: int) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def measure(n: int, peers: bool = True, peer_max_symbols: int = 4_000_000, seed: int = 0) -> dict:
    """One stream of ``n`` symbols: throughput each way and sizes (bytes, ratios)."""
    symbols = laplacian_symbols(n, seed)
    repeats = 5 if n <= 4_000_000 else 2
    encode_s, data = best_time(lambda: coding.encode(symbols), repeats)
    decode_s, decoded = best_time(lambda: coding.decode(data), repeats)
    if not np.array_equal(decoded, symbols):
        raise AssertionError("round trip is not bit exact")
    entropy = _core.entropy_bits(symbols)
    info = coding.stream_info(data)
    ideal_bytes = n * entropy / 8
    row = {
        "n_symbols": n,
        "threads": _core.max_threads(),
        "entropy_bits": entropy,
        "encode_msym_s": n / encode_s / 1e6,
        "decode_msym_s": n / decode_s / 1e6,
        "coded_bytes": len(data),
        "overhead_bytes": info.overhead_bytes,
        "ideal_bytes": ideal_bytes,
        "coded_over_ideal": len(data) / ideal_bytes,
        "coded_over_ideal_plus_overhead": len(data) / (ideal_bytes + info.overhead_bytes),
    }
    if peers:
        import zstandard

        peer_n = n if peer_max_symbols <= 0 else min(n, peer_max_symbols)
        prefix = symbols[:peer_n]
        coded_bytes = len(data) if peer_n == n else len(coding.encode(prefix))
        raw = narrowest(prefix).tobytes()
        row["raw_dtype"] = str(narrowest(prefix).dtype)
        row["peer_symbols"] = peer_n
        compressor = zstandard.ZstdCompressor(level=19)
        zstd_s, zstd_data = best_time(lambda: compressor.compress(raw), 1)
        xz_s, xz_data = best_time(lambda: lzma.compress(raw, preset=9 | lzma.PRESET_EXTREME), 1)
        row.update({
            "zstd19_bytes": len(zstd_data),
            "xz9e_bytes": len(xz_data),
            "coded_over_zstd19": coded_bytes / len(zstd_data),
            "coded_over_xz9e": coded_bytes / len(xz_data),
            "zstd19_encode_msym_s": peer_n / zstd_s / 1e6,
            "xz9e_encode_msym_s": peer_n / xz_s / 1e6,
        })
    return row


def run(n_symbols: int = 64 * 1024 * 1024, print_fn=print, peers: bool = True,
        peer_max_symbols: int = 4_000_000) -> list[dict]:
    """Measure a long stream of ``n_symbols`` and a 10^6-symbol stream; print and return rows.

    zstd -19 and xz -9e see at most ``peer_max_symbols`` symbols of each stream (0: all).
    """
    rows = []
    for n in (n_symbols, 1_000_000):
        row = measure(n, peers=peers, peer_max_symbols=peer_max_symbols)
        rows.append(row)
        line = (f"rANS n={n:>11,d} H={row['entropy_bits']:.3f} b/sym threads={row['threads']}: "
                f"encode {row['encode_msym_s']:7.1f} Msym/s, "
                f"decode {row['decode_msym_s']:7.1f} Msym/s | "
                f"size/N·H {row['coded_over_ideal']:.4f} "
                f"(/(N·H+overhead) {row['coded_over_ideal_plus_overhead']:.4f})")
        if peers:
            line += (f", size/zstd-19 {row['coded_over_zstd19']:.3f}, "
                     f"size/xz-9e {row['coded_over_xz9e']:.3f}"
                     f" [peers on {row['peer_symbols']:,d} symbols as {row['raw_dtype']}; "
                     f"zstd-19 {row['zstd19_encode_msym_s']:.1f}, "
                     f"xz-9e {row['xz9e_encode_msym_s']:.1f} Msym/s encode]")
        print_fn(line)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n-symbols", type=int, default=64 * 1024 * 1024,
                        help="length of the long stream")
    parser.add_argument("--no-peers", action="store_true", help="skip zstd and xz (they are slow)")
    parser.add_argument("--peer-max-symbols", type=int, default=4_000_000,
                        help="zstd/xz compress at most this prefix of each stream (0: all)")
    args = parser.parse_args()
    run(args.n_symbols, peers=not args.no_peers, peer_max_symbols=args.peer_max_symbols)


if __name__ == "__main__":
    main()
