"""The compression step's cost against a training step (issue 11: target <= 10 %).

One training step of the paper's CIFAR-10 CNN (forward, backward, SGD with momentum) against one
``PruneQuantizeCompressor.step()`` on the same network, both timed in interleaved rounds in this run
(medians), for each mode and a few (gamma, bits) settings::

    .venv/bin/pip install torch==2.13.0          # the optional extra: pip install 'edgequant[torch]'
    .venv/bin/python benchmarks/bench_training_step.py [--batch 32] [--rounds 30] [--threads 2] [--cpu-time]

``--cpu-time`` measures the process's CPU time instead of the wall clock: on a machine shared with
other jobs it still gives the work ratio (run it with ``--threads 1``, which also keeps edgequant's
core on one thread, so both sides do single-threaded work).
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from edgequant.training import PruneQuantizeCompressor
from edgequant.training.models import build_model, parameter_count

SETTINGS = [("paper", 0.375, 8), ("paper", 0.625, 4), ("frozen", 0.375, 8), ("straight-through", 0.375, 8)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch", type=int, default=32, help="training batch (the reduced protocol's)")
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--threads", type=int, default=2, help="torch threads (the core's step uses both cores)")
    parser.add_argument("--cpu-time", action="store_true", help="CPU time of the process instead of wall time")
    args = parser.parse_args()
    torch.manual_seed(0)
    torch.set_num_threads(args.threads)
    if args.cpu_time and args.threads == 1:
        from edgequant import _core

        _core.set_max_threads(1)
    clock = time.process_time if args.cpu_time else time.perf_counter
    model = build_model("paper_cifar10_cnn")
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    x = torch.randn(args.batch, 3, 32, 32)
    y = torch.randint(0, 10, (args.batch,))

    def train_step():
        optimizer.zero_grad(set_to_none=True)
        torch.nn.functional.cross_entropy(model(x), y).backward()
        optimizer.step()

    compressors = {setting: PruneQuantizeCompressor(model, gamma=setting[1], bits=setting[2], mode=setting[0])
                   for setting in SETTINGS}
    times: dict[object, list[float]] = {"train": [], **{setting: [] for setting in SETTINGS}}
    for _ in range(3):  # warm-up: allocator, oneDNN primitives, the core's thread pool
        train_step()
        for compressor in compressors.values():
            compressor.step()
    for _ in range(args.rounds):
        for key, fn in [("train", train_step)] + [(s, c.step) for s, c in compressors.items()]:
            start = clock()
            fn()
            times[key].append(clock() - start)
    train_ms = statistics.median(times["train"]) * 1e3
    print(f"paper CIFAR-10 CNN, {parameter_count(model):,} parameters, batch {args.batch}, torch threads "
          f"{args.threads}, median of {args.rounds} interleaved rounds ({'CPU' if args.cpu_time else 'wall'} time)")
    print(f"training step (forward + backward + SGD): {train_ms:.2f} ms")
    print("| mode | gamma | bits | compression step (ms) | / training step |")
    print("|---|---:|---:|---:|---:|")
    for mode, gamma, bits in SETTINGS:
        step_ms = statistics.median(times[(mode, gamma, bits)]) * 1e3
        print(f"| {mode} | {gamma} | {bits} | {step_ms:.2f} | {step_ms / train_ms:.1%} |")


if __name__ == "__main__":
    main()
