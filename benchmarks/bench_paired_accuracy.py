"""False alarms and power of ``assert_accuracy_not_worse`` (edgequant.testing), by simulation.

For every setting — samples n ∈ {100, 300, 540, 1000, 10000}, P(new right & reference wrong)
p01 ∈ {0, 0.001, 0.005, 0.02, 0.1}, margin ∈ {0, 0.5, 1, 2} pp — the discordant counts (b, c)
are drawn from the multinomial whose true accuracy drop is *exactly* the margin (the null
hypothesis at its boundary, where false alarms are most likely), and the check is counted as
a false alarm when it fails. Peers measured in the same run on the same draws: the Wald
interval of the paired difference (the textbook normal approximation) and Tango's score test
without a continuity correction. Power: the fraction of failures when the true drop is the
margin + 2 pp.

    .venv/bin/python benchmarks/bench_paired_accuracy.py                  # 2,000 trials per setting
    .venv/bin/python benchmarks/bench_paired_accuracy.py --trials 50000   # the precise rates
"""

from __future__ import annotations

import argparse
import itertools
import time
from statistics import NormalDist

import numpy as np
from tqdm import tqdm

from edgequant.testing.paired_accuracy import tango_statistic

SAMPLES = (100, 300, 540, 1000, 10_000)
P01 = (0.0, 0.001, 0.005, 0.02, 0.1)
MARGINS_PP = (0.0, 0.5, 1.0, 2.0)


def wald_statistic(b, c, n, delta):
    """(d − δ) / se(d) with the unrestricted variance: zero when b = c = 0 or b = n (any d alarms)."""
    b, c = np.asarray(b, float), np.asarray(c, float)
    d = (b - c) / n
    variance = ((b + c) / n - d * d) / n
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (d - delta) / np.sqrt(variance)
    return np.where(variance > 0, z, np.where(d > delta, np.inf, 0.0))


TESTS = {
    "edgequant (score + Edwards correction)": lambda b, c, n, d: tango_statistic(b, c, n, d),
    "score test, no correction": lambda b, c, n, d: tango_statistic(b, c, n, d, correction=0.0),
    "Wald interval": wald_statistic,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=2000, help="simulated experiments per setting (default 2000)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    settings = [s for s in itertools.product(SAMPLES, P01, MARGINS_PP) if s[1] + s[2] / 100 > 0]
    started = time.perf_counter()
    for confidence in (0.9, 0.95, 0.99):
        critical = NormalDist().inv_cdf(confidence)
        rates = {name: [] for name in TESTS}
        power = {name: [] for name in TESTS}
        for n, p01, margin in tqdm(settings, desc=f"confidence {confidence}", leave=False):
            delta = margin / 100
            null = rng.multinomial(n, [p01 + delta, p01, 1 - 2 * p01 - delta], size=args.trials)
            shifted = rng.multinomial(n, [p01 + delta + 0.02, p01, 1 - 2 * p01 - delta - 0.02], size=args.trials)
            for name, statistic in TESTS.items():
                alarms = statistic(null[:, 0], null[:, 1], n, delta) > critical
                rates[name].append((np.mean(alarms), (n, p01, margin)))
                power[name].append(np.mean(statistic(shifted[:, 0], shifted[:, 1], n, delta) > critical))
        alpha = 1 - confidence
        error = np.sqrt(alpha * (1 - alpha) / args.trials)
        print(f"\nconfidence {confidence}: false alarms at the null boundary over {len(settings)} settings, "
              f"{args.trials} trials each (allowed {alpha:.2f}; Monte-Carlo s.e. {error:.4f})")  # fmt: skip
        print(f"{'test':<40} {'worst':>7} {'at (n, p01, margin pp)':>26} {'median':>7} {'> allowed':>9} "
              f"{'worst/allowed':>13} {'power +2pp':>10}")  # fmt: skip
        for name in TESTS:
            values = [rate for rate, _ in rates[name]]
            worst_rate, worst_at = max(rates[name], key=lambda item: item[0])
            over = sum(rate > alpha for rate in values)
            print(f"{name:<40} {worst_rate:>7.4f} {str(worst_at):>26} {np.median(values):>7.4f} {over:>9} "
                  f"{worst_rate / alpha:>13.2f} {np.median(power[name]):>10.3f}")  # fmt: skip
    print(f"\n{time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
