"""Paper 002 at the paper's length: does the density of compression-aware training fall to ~9 %?

Trains a plan of long runs (``edgequant.training.long_run``: resumable, a per-layer trace every
``--record-every`` steps) in ``--workers`` processes of one torch thread each, advancing all runs
together in chunks of ``--chunk`` steps (so that a sitting cut short leaves every run somewhere),
then writes the figures and tables (``--report`` does only that, also while runs train)::

    .venv/bin/python benchmarks/paper_002_long_runs.py --plan mnist --out out/paper_002_long
    .venv/bin/python benchmarks/paper_002_long_runs.py --plan mnist --out out/paper_002_long --report

``--runs`` trains only some runs of the plans, so that separate sittings (one per core) can take
different runs into the same ``--out``. Rerun the same command to continue: finished chunks are
skipped, cut ones resume from their last epoch. ``--budget-s`` stops every run at its first epoch
end after that many seconds of this sitting. Plans (``--plan``, several allowed; ``--steps`` caps every target):

* ``mnist``: paper 002's protocol on MNIST (the shared 10,000 test images split 8,000 train /
  2,000 test), the paper's CNN layout adapted to 28×28, batch 32, SGD momentum 0.9, weight decay
  5e-4: pruned-shadow at γ ∈ {0.375, 0.625} × b ∈ {4, 8} and lr 0.005 / 0.01 / 0.05; paper mode
  (eqs. 1–4 as printed) at γ ∈ {0.375, 0.625} × b ∈ {4, 8} (γ = 0.375, 8 bits also at lr 0.01 and
  0.005) and at γ = 0.625, 16 bits; frozen and straight-through beside γ = 0.375 b = 8 and
  γ = 0.625 b = 4 (frozen there at lr 0.01 too); the threshold grid beside γ = 0.375 b = 8; prune
  only (32 bits) with the std of eq. 1 over all weights or over the survivors; the uncompressed baseline;
* ``stability``: paper mode (γ = 0.375, b = 8, lr 0.05) with the momentum of pruned weights reset,
  without weight decay, and without momentum: is the set-up what makes it diverge? And
  pruned-shadow at γ = 0.625, 4 bits with lr 0.01 (at lr 0.05 a loss spike ends it near 100,000 steps);
* ``cifar10``: γ = 0.375, b = 8 (pruned-shadow) at lr 0.05, 0.01 and 0.005 on 49,000 of the 50,000
  CIFAR-10 training images (2 % held out), 2,000 test images, random flips; and the uncompressed
  network at lr 0.005 (the paper's baseline). ``--device cuda`` trains them on a GPU.
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
from dataclasses import asdict
from pathlib import Path

# (config fields, target steps), in priority order
PLANS = {
    "mnist": [
        (dict(mode="pruned-shadow", gamma=0.375, bits=8, lr=0.05), 300_000),
        (dict(mode="pruned-shadow", gamma=0.625, bits=4, lr=0.05), 300_000),
        (dict(mode="paper", gamma=0.375, bits=8, lr=0.05), 300_000),
        (dict(mode="paper", gamma=0.375, bits=8, lr=0.01), 300_000),
        (dict(mode="straight-through", gamma=0.375, bits=8, lr=0.05), 300_000),
        (dict(mode="frozen", gamma=0.375, bits=8, lr=0.05), 300_000),
        (dict(mode="paper", gamma=0.375, bits=8, lr=0.05, grid="threshold"), 300_000),
        (dict(mode="pruned-shadow", gamma=0.375, bits=4, lr=0.05), 300_000),
        (dict(mode="pruned-shadow", gamma=0.625, bits=8, lr=0.05), 300_000),
        (dict(mode="paper", gamma=0.375, bits=32, lr=0.05), 300_000),
        (dict(mode="paper", gamma=0.0, bits=32, lr=0.05), 300_000),
        (dict(mode="pruned-shadow", gamma=0.375, bits=8, lr=0.005), 300_000),
        (dict(mode="pruned-shadow", gamma=0.375, bits=8, lr=0.01), 300_000),
        (dict(mode="paper", gamma=0.375, bits=32, lr=0.05, threshold_std="survivors"), 300_000),
        (dict(mode="paper", gamma=0.625, bits=16, lr=0.05), 300_000),
        # the rest of the γ × b grid of issue 24: paper mode at 4 bits and at γ = 0.625, 8 bits; frozen and
        # straight-through beside γ = 0.625, 4 bits
        (dict(mode="paper", gamma=0.375, bits=4, lr=0.05), 300_000),
        (dict(mode="paper", gamma=0.625, bits=4, lr=0.05), 300_000),
        (dict(mode="paper", gamma=0.625, bits=8, lr=0.05), 300_000),
        (dict(mode="straight-through", gamma=0.625, bits=4, lr=0.05), 300_000),
        (dict(mode="frozen", gamma=0.625, bits=4, lr=0.05), 300_000),
        # the printed equations at the paper's lowest rate, and frozen at 4 bits at the rate that keeps
        # pruned-shadow stable there: does a smaller step save them?
        (dict(mode="paper", gamma=0.375, bits=8, lr=0.005), 300_000),
        (dict(mode="frozen", gamma=0.625, bits=4, lr=0.01), 300_000),
    ],
    "stability": [
        (dict(mode="paper", gamma=0.375, bits=8, lr=0.05, reset_pruned_momentum=True), 300_000),
        (dict(mode="paper", gamma=0.375, bits=8, lr=0.05, weight_decay=0.0), 300_000),
        (dict(mode="paper", gamma=0.375, bits=8, lr=0.05, momentum=0.0), 300_000),
        (dict(mode="pruned-shadow", gamma=0.625, bits=4, lr=0.01), 300_000),
    ],
    "cifar10": [
        (dict(dataset="cifar10", mode="pruned-shadow", gamma=0.375, bits=8, lr=0.05), 300_000),
        # the paper's lower learning rates, and the uncompressed network at its baseline rate
        (dict(dataset="cifar10", mode="pruned-shadow", gamma=0.375, bits=8, lr=0.01), 300_000),
        (dict(dataset="cifar10", mode="pruned-shadow", gamma=0.375, bits=8, lr=0.005), 300_000),
        (dict(dataset="cifar10", mode="paper", gamma=0.0, bits=32, lr=0.005), 300_000),
    ],
}

#: Paper 002's Table I at the points the plans train (test %, density %).
PAPER_TABLE_I = {(0.0, 32): (87.21, 100.0), (0.375, 8): (84.78, 8.68), (0.625, 4): (79.20, 6.93),
                 (0.625, 16): (83.04, 5.45)}


def _train_chunk(config_fields: dict, folder: str, steps: int, record_every: int, deadline: float,
                 device: str = "cpu") -> dict:
    from edgequant.training.long_run import LongRunConfig, train_long

    config = LongRunConfig(**config_fields)
    budget = max(deadline - time.time(), 0.0) if deadline else None
    trace = train_long(config, folder, steps, record_every=record_every, budget_s=budget, threads=1, progress=False,
                       stop_when_dead=20_000, device=device)
    last = trace.records[-1]
    return {"name": config.name, "status": trace.status, "reason": trace.reason, "step": last["step"],
            "density": last.get("density"), "test_acc": last.get("test_acc")}


def selected_runs(plans: list[str], indices: list[int] | None = None) -> list[tuple[dict, int]]:
    """The runs of the plans in order, or those at ``indices`` (0-based over the plans joined)."""
    runs = [run for plan in plans for run in PLANS[plan]]
    if indices is None:
        return runs
    bad = [i for i in indices if not 0 <= i < len(runs)]
    if bad:
        raise SystemExit(f"--runs {bad}: the plans {plans} have runs 0..{len(runs) - 1}")
    return [runs[i] for i in indices]


def run_plans(selection: list[tuple[dict, int]], out: Path, cap: int | None, chunk: int, workers: int,
              record_every: int, budget_s: float | None, focus: int = 0, device: str = "cpu") -> None:
    """Advance every selected run to its target, ``chunk`` steps at a time, all runs in turn
    (the first ``focus`` runs go to their targets before the others start)."""
    import multiprocessing
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    from edgequant.training.long_run import LongRunConfig, load_trace

    runs = [(LongRunConfig(**fields), min(target, cap) if cap else target) for fields, target in selection]
    deadline = time.time() + budget_s if budget_s else 0.0
    # the chunk boundaries each run still has to reach, round-robin over the runs
    pending = []
    level = chunk
    while any(level - chunk < target for _, target in runs):
        for priority, (config, target) in enumerate(runs):
            if level - chunk < target:
                pending.append(((priority >= focus, level, priority), config, min(level, target)))
        level += chunk
    pending = [(config, steps) for _, config, steps in sorted(pending, key=lambda item: item[0])]
    done_steps = {}
    for config, _ in runs:
        folder = out / config.name
        if (folder / "config.json").is_file():
            trace = load_trace(folder)
            done_steps[config.name] = trace.steps if trace.status not in ("diverged", "collapsed") else float("inf")
    pending = [(c, s) for c, s in pending if done_steps.get(c.name, 0) < s]
    print(f"{len(runs)} runs, {len(pending)} chunks of ≤ {chunk:,} steps to go, {workers} workers", flush=True)
    active: dict = {}
    stopped = set()
    context = multiprocessing.get_context("spawn")
    # a kill of this process must not leave workers training on (they outlive it otherwise)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(f"stopped by SIGTERM at {time.strftime('%H:%M:%S')}"))
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=context)
    try:
        while pending or active:
            busy = {config.name for config, _ in active.values()}
            while len(active) < workers:
                ready = [item for item in pending if item[0].name not in busy and item[0].name not in stopped]
                if not ready or (deadline and time.time() >= deadline):
                    break
                config, steps = ready[0]
                pending.remove(ready[0])
                future = pool.submit(_train_chunk, asdict(config), str(out / config.name), steps, record_every,
                                     deadline, device)
                active[future] = (config, steps)
                busy.add(config.name)
            if not active:
                break
            finished, _ = wait(active, return_when=FIRST_COMPLETED)
            for future in finished:
                config, steps = active.pop(future)
                try:
                    result = future.result()
                except Exception as error:  # one broken run must not stop the others
                    print(f"{config.name}: failed: {type(error).__name__}: {error}", flush=True)
                    stopped.add(config.name)
                    continue
                print(f"{time.strftime('%H:%M:%S')} {result['name']}: {result['status']} at step {result['step']:,}"
                      f" (density {result['density'] if result['density'] is None else round(result['density'], 4)},"
                      f" test {result['test_acc']}) {result['reason']}", flush=True)
                if result["status"] in ("diverged", "stopped", "collapsed"):
                    stopped.add(config.name)
    finally:
        for process in list(getattr(pool, "_processes", {}).values()):
            process.terminate()
        pool.shutdown(wait=False, cancel_futures=True)
    print("left for the next sitting:", len([p for p in pending if p[0].name not in stopped]) or "nothing")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--plan", nargs="+", default=["mnist"], choices=sorted(PLANS))
    parser.add_argument("--out", default="out/paper_002_long", help="one folder per run, figures and tables")
    parser.add_argument("--steps", type=int, default=None, help="cap every run's target (default: the plan's)")
    parser.add_argument("--chunk", type=int, default=50_000, help="steps a run advances before the next run's turn")
    parser.add_argument("--workers", type=int, default=2, help="runs in parallel (one torch thread each)")
    parser.add_argument("--record-every", type=int, default=2000)
    parser.add_argument("--budget-s", type=float, default=None, help="stop this sitting after this many seconds")
    parser.add_argument("--focus", type=int, default=0,
                        help="take the first N runs of the plan to their targets before the others start")
    parser.add_argument("--runs", type=int, nargs="+", default=None,
                        help="train only these runs (0-based positions in the plans joined; two sittings can "
                             "then share the cores between them)")
    parser.add_argument("--device", default="cpu",
                        help="torch device of every run (cuda: give --workers 1, processes sharing a GPU "
                             "time-slice it)")
    parser.add_argument("--report", action="store_true", help="only write the figures and tables")
    parser.add_argument("--with-shipped", action="store_true",
                        help="join the thinned traces shipped with edgequant (earlier sittings) for the runs "
                             "not under --out")
    args = parser.parse_args(argv)
    out = Path(args.out)
    if not args.report:
        run_plans(selected_runs(args.plan, args.runs), out, args.steps, args.chunk, args.workers,
                  args.record_every, args.budget_s, args.focus, args.device)
    from edgequant.training.long_run_report import load_exported, write_report

    earlier = load_exported() if args.with_shipped else None
    print(write_report(out, [config for plan in args.plan for config in PLANS[plan]], PAPER_TABLE_I, earlier))
    return 0


if __name__ == "__main__":
    sys.exit(main())
