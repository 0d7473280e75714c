"""How the density of one compression-aware run falls with the steps taken (issue 11: why the
paper's CIFAR-10 densities are not reached on a CPU budget).

Trains the paper's CIFAR-10 CNN with prune-then-quantize after every step (the grid runner's loop:
SGD with momentum, random flips off) and prints the density, the first FC layer's density and the
test accuracy on 1,000 images every ``--every`` steps::

    nice -n 10 .venv/bin/python benchmarks/density_vs_steps.py \\
        --lr 0.05 --weight-decay 5e-4 --steps 1500
"""

from __future__ import annotations

import argparse
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=None, help="CIFAR-10 archive or folder (default: the shared one)")
    parser.add_argument("--train-images", type=int, default=20000)
    parser.add_argument("--gamma", type=float, default=0.375)
    parser.add_argument("--bits", type=int, default=8)
    parser.add_argument("--mode", default="paper", choices=["paper", "frozen", "straight-through"])
    parser.add_argument("--lr", type=float, default=0.05)
    parser.add_argument("--momentum", type=float, default=0.9)
    parser.add_argument("--weight-decay", type=float, default=5e-4)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--every", type=int, default=300)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()

    import numpy as np
    import torch

    from edgequant.training import PruneQuantizeCompressor, build_model, cifar10_data

    torch.set_num_threads(args.threads)
    data = cifar10_data(args.data, train_images=args.train_images, test_images=1000)
    model = build_model("paper_cifar10_cnn")
    optimizer = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=args.momentum,
                                weight_decay=args.weight_decay)
    compressor = PruneQuantizeCompressor(model, args.gamma, args.bits, mode=args.mode,
                                         warmup_steps=len(data.y_train) // args.batch_size)
    compressor.step()
    print(f"{data.describe()}; γ={args.gamma} b={args.bits} {args.mode} lr={args.lr} wd={args.weight_decay}; "
          f"step 0 density {compressor.density()['total']:.4f}", flush=True)
    x_train, y_train = torch.from_numpy(data.x_train), torch.from_numpy(data.y_train)
    x_test = torch.from_numpy(data.x_test)
    generator = torch.Generator().manual_seed(0)
    started, step = time.perf_counter(), 0
    while step < args.steps:
        for batch in torch.randperm(len(y_train), generator=generator).split(args.batch_size):
            if len(batch) < 2 or step >= args.steps:
                continue  # BatchNorm needs two samples
            model.train()
            optimizer.zero_grad(set_to_none=True)
            torch.nn.functional.cross_entropy(model(x_train[batch]), y_train[batch]).backward()
            optimizer.step()
            compressor.step()
            step += 1
            if step % args.every == 0 or step == args.steps:
                density = compressor.density()
                model.eval()
                with torch.no_grad():
                    accuracy = float(np.mean(model(x_test).argmax(1).numpy() == data.y_test))
                print(f"step {step}: density {density['total']:.4f} (first FC {density['1.1.weight']:.4f}), "
                      f"test {accuracy:.3f}, {time.perf_counter() - started:.0f} s", flush=True)


if __name__ == "__main__":
    main()
