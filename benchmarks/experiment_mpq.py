"""Semantic-significance mixed precision against uniform, sensitivity- and Hessian-driven bits (issue 12).

Trains the project's CNN (``edgequant.training``) in FP32, picks the critical classes from its
validation confusion matrix (the most confused pairs) or takes them from ``--critical``, measures
per layer the semantic significance (loss rise on the critical classes' validation samples), the
generic sensitivity (the same over all validation samples) and the Hessian trace (HAWQ-V2/V3:
mean trace × ‖Q_b(W) − W‖²), allocates bits exactly at the same average budgets (4 and 3 bits per
weight by default), and evaluates on the test split: FP32, uniform PTQ INT8 / INT-b, uniform QAT
INT-b, each allocation after PTQ and after QAT. Every quantized weight is the per-channel affine
``edgequant.quantizers.Affine`` (QAT's fake quantization equals it bit for bit).

Columns: the fine-tuning epoch kept (best validation accuracy of the fake-quantized model; 0 means
no epoch beat the post-training quantized weights, which are then kept); overall accuracy;
accuracy on the critical classes' test samples with a 95 % Wilson interval; accuracy on the other
classes; critical samples predicted as the other class of their confused group (``crit→crit
errors``: cat as dog, truck as automobile...); the paired difference on the critical samples
against MPQ by generic sensitivity (Tango's score interval, 95 % two-sided); bits per weight;
model bits (weights at their widths, everything else float32); the ``.eqz`` file
(``edgequant.mixed_precision.compress.compress_mixed_precision``); the exported QDQ ONNX run by
``edgequant.Engine`` over the test split (its accuracy) and its batch-1 latency (median). The engine
has no sub-8-bit kernels: QDQ weights are dequantized at load, so every quantized row runs float32
convolutions; "Engine INT8 dynamic" below the table is the engine's own INT8 path.

    .venv/bin/python benchmarks/experiment_mpq.py                               # digits, ~1 min
    nice -n 10 .venv/bin/python benchmarks/experiment_mpq.py \\
        --dataset cifar10 --train-images 8000 --test-images 2000 --epochs 8 --qat-all --out out/mpq_cifar10
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dataset", choices=["digits", "cifar10"], default="digits")
    parser.add_argument("--data", default=None, help="CIFAR-10 archive or folder (default: the shared one)")
    parser.add_argument("--train-images", type=int, default=8000)
    parser.add_argument("--test-images", type=int, default=2000)
    parser.add_argument("--epochs", type=int, default=None, help="FP32 training epochs (digits 60, cifar10 8)")
    parser.add_argument("--lr", type=float, default=None, help="FP32 learning rate (digits 0.05, cifar10 0.02)")
    parser.add_argument("--batch-size", type=int, default=None, help="digits 64, cifar10 32")
    parser.add_argument("--qat-epochs", type=int, default=None, help="fine-tuning epochs (digits 4, cifar10 1)")
    parser.add_argument("--qat-lr", type=float, default=None,
                        help="fine-tuning learning rate (digits 0.01, cifar10 0.002)")
    parser.add_argument("--qat-all", action="store_true", help="also fine-tune the generic and Hessian allocations "
                                                                "(default on digits)")
    parser.add_argument("--budgets", type=float, nargs="+", default=[4.0, 3.0])
    parser.add_argument("--choices", type=int, nargs="+", default=[2, 4, 8])
    parser.add_argument("--critical", default="auto", help='"auto" (the --pairs most confused) or names "cat,dog"')
    parser.add_argument("--pairs", type=int, default=2, help="most confused pairs when --critical auto")
    parser.add_argument("--hessian-samples", type=int, default=None,
                        help="validation samples (digits 359, cifar10 200)")
    parser.add_argument("--hessian-probes", type=int, default=None, help="at most this many (digits 100, cifar10 40)")
    parser.add_argument("--workers", type=int, default=1, help="processes measuring significance")
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    parser.add_argument("--latency-runs", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default=None, help="torch device (default: CUDA when present)")
    parser.add_argument("--out", default=None, help="folder for the checkpoint, models and tables")
    args = parser.parse_args(argv)

    import torch

    from edgequant.training import Protocol, pick_device

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)  # dropout in training draws from the global generator
    cifar = args.dataset == "cifar10"
    defaults = dict(epochs=8, lr=0.02, batch_size=32, qat_epochs=1, qat_lr=0.002, hessian_samples=200,
                    hessian_probes=40) if cifar else \
        dict(epochs=60, lr=0.05, batch_size=64, qat_epochs=4, qat_lr=0.01, hessian_samples=359, hessian_probes=100)
    for key, value in defaults.items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    qat_all = args.qat_all or not cifar
    out = Path(args.out or f"out/mpq_{args.dataset}")
    out.mkdir(parents=True, exist_ok=True)
    device = pick_device(args.device)
    started = time.perf_counter()
    data, model_name, class_names = _data(args)
    print(f"{data.describe()}; device {device}; torch threads {args.threads}", flush=True)
    protocol = Protocol(model=model_name, epochs=args.epochs, patience=max(3, args.epochs // 4),
                        batch_size=args.batch_size, seed=args.seed)
    model, fp32_info = _trained(data, protocol, args.lr, out / "fp32.pt", device)
    print(f"FP32: {fp32_info}", flush=True)

    study = MixedPrecisionStudy(model, data, class_names, args, device)
    print(f"critical classes: {study.critical.describe()}", flush=True)
    study.measure_costs(out)
    rows = study.evaluate_all(out, qat_all)
    report = study.report(rows, fp32_info, time.perf_counter() - started, argv)
    (out / "results.md").write_text(report)
    (out / "results.json").write_text(json.dumps({"rows": rows, "critical": study.critical.describe(),
                                                  "allocations": study.allocations_json()}, indent=1))
    print(report)
    return 0


def _data(args):
    from edgequant.training import digits_data

    if args.dataset == "digits":
        return digits_data(args.seed), "digits_cnn", [str(d) for d in range(10)]
    from edgequant.datasets.cifar10 import CIFAR10_CLASSES
    from edgequant.training import cifar10_data

    data = cifar10_data(args.data, train_images=args.train_images, test_images=args.test_images, seed=args.seed)
    return data, "paper_cifar10_cnn", list(CIFAR10_CLASSES)


def _trained(data, protocol, lr, checkpoint: Path, device):
    """The FP32 model: trained once (γ = 0, 32 bits: the compressor does nothing), then cached."""
    import dataclasses

    import torch

    from edgequant.training import build_model, train_run

    key = {"protocol": dataclasses.asdict(protocol), "lr": lr, "data": data.digest()}
    model = build_model(protocol.model, protocol.seed)
    if checkpoint.is_file():
        saved = torch.load(checkpoint, map_location="cpu", weights_only=False)
        if saved["key"] == key:
            model.load_state_dict(saved["state_dict"])
            return model.eval(), saved["info"]
    run = train_run(data, 0.0, 32, lr, protocol, device=device,
                    progress=lambda epoch, history: print(f"  epoch {epoch + 1}: val {history['val_acc'][-1]:.4f}",
                                                          flush=True))
    model.load_state_dict(run.best_state)
    info = (f"{protocol.model}, {run.epochs_run} epochs (best {run.best_epoch}), lr {lr}, batch "
            f"{protocol.batch_size}: test {100 * run.test_acc:.2f} %, val {100 * run.val_acc:.2f} %, "
            f"{run.train_s:.0f} s")
    torch.save({"key": key, "state_dict": run.best_state, "info": info}, checkpoint)
    return model.eval(), info


def _spend_the_budget(costs: dict, sizes: dict) -> dict:
    """Costs the allocator can compare at equal bits: measured loss rises are noisy (a layer at 4
    bits can come out cheaper than at 8, or below 0), so each is made non-increasing in the width
    and ≥ 0, and every unused bit costs 1e-9 of the largest cost (weighted by the layer's share
    of weights): among equal-cost allocations the one that uses the budget wins, so every method
    lands at (nearly) the same average bits."""
    top = max((max(by_bits.values()) for by_bits in costs.values()), default=0.0) or 1.0
    total = sum(sizes.values())
    adjusted = {}
    for name, by_bits in costs.items():
        widths = sorted(by_bits)
        running, fixed = 0.0, {}
        for bits in reversed(widths):
            running = max(running, by_bits[bits], 0.0)
            fixed[bits] = running + 1e-9 * top * (widths[-1] - bits) * sizes[name] / total
        adjusted[name] = fixed
    return adjusted


class MixedPrecisionStudy:
    """The measurements of one trained model: critical classes, costs, allocations, table rows."""

    def __init__(self, model, data, class_names, args, device):
        from edgequant.mixed_precision import confusion_matrix, critical_classes, list_components, parse_critical

        self.model, self.data, self.class_names, self.args, self.device = model, data, class_names, args, device
        self.shape = tuple(data.x_test.shape[1:])
        self.components = list_components(model)
        self.sizes = {c.name: c.size for c in self.components}
        self.other_parameters = sum(p.numel() for p in model.parameters()) - sum(self.sizes.values())
        if args.critical == "auto":
            confusion = confusion_matrix(data.y_val, self._predict(model, data.x_val), len(class_names))
            self.critical = critical_classes(confusion, k=args.pairs, class_names=class_names)
        else:
            self.critical = parse_critical(args.critical, class_names)
        self.test_critical = np.isin(data.y_test, list(self.critical))
        self.costs, self.allocations = {}, {}

    # -- costs and allocations ---------------------------------------------------------------------
    def measure_costs(self, out: Path):
        from edgequant.mixed_precision import allocate_bits, significance_tables
        from edgequant.mixed_precision.hessian import hessian_costs, hessian_traces
        from edgequant.training.export import export_onnx

        onnx_bytes = export_onnx(self.model, out / "fp32.onnx", self.shape, opset=13, dynamic_batch=True)
        tick = time.perf_counter()
        semantic, generic = significance_tables(onnx_bytes, self.data.x_val, self.data.y_val, self.critical,
                                                choices=self.args.choices, workers=self.args.workers,
                                                backend="onnxruntime", progress=False)
        print(f"significance (semantic + generic, {len(self.components)} layers x {len(self.args.choices)} widths): "
              f"{time.perf_counter() - tick:.1f} s", flush=True)
        tick = time.perf_counter()
        count = min(self.args.hessian_samples, len(self.data.y_val))
        estimate = hessian_traces(self.model, self.data.x_val[:count], self.data.y_val[:count], batch_size=250,
                                  tolerance=0.05, max_probes=self.args.hessian_probes,
                                  seed=self.args.seed, device=self.device)
        self.hessian_estimate = estimate
        print(f"Hessian traces: {estimate.probes} probes, converged {estimate.converged}, "
              f"{time.perf_counter() - tick:.1f} s; trace ± standard error: "
              + ", ".join(f"{name} {estimate.traces[name]:.3g} ± {estimate.standard_errors[name]:.2g}"
                          for name in estimate.traces), flush=True)
        self.costs = {"generic": generic, "Hessian": hessian_costs(self.model, estimate, self.args.choices),
                      "semantic": semantic}
        for budget in self.args.budgets:
            for method, costs in self.costs.items():
                self.allocations[method, budget] = allocate_bits(_spend_the_budget(costs, self.sizes), self.sizes,
                                                                 budget_bits_per_weight=budget,
                                                                 choices=self.args.choices)

    def allocations_json(self) -> dict:
        table = {f"{method} @ {budget:g}": bits for (method, budget), bits in self.allocations.items()}
        table["costs"] = {method: {c: {str(b): v for b, v in by_bits.items()} for c, by_bits in costs.items()}
                          for method, costs in self.costs.items()}
        table["hessian_traces"] = self.hessian_estimate.traces
        return table

    # -- evaluation --------------------------------------------------------------------------------
    def variants(self, qat_all: bool):
        """(label, budget, bits or None, fine-tune?) in table order."""
        uniform = {b: {c.name: b for c in self.components} for b in (8, *self.args.budgets_int)}
        yield "FP32", None, None, False
        yield "FP32 + fine-tune", None, {}, True  # the control: QAT's extra training without quantization
        yield "PTQ INT8", 8.0, uniform[8], False
        for budget in self.args.budgets:
            b = int(budget)
            if b == budget:
                yield f"PTQ INT{b}", budget, uniform[b], False
                yield f"QAT INT{b}", budget, uniform[b], True
            for method in self.costs:
                yield f"MPQ {method} (PTQ)", budget, self.allocations[method, budget], False
            for method in self.costs:
                if qat_all or method == "semantic":
                    yield f"MPQ {method} + QAT", budget, self.allocations[method, budget], True

    def evaluate_all(self, out: Path, qat_all: bool) -> list[dict]:
        self.args.budgets_int = sorted({int(b) for b in self.args.budgets if int(b) == b})
        rows, predictions = [], {}
        for label, budget, bits, tune in self.variants(qat_all):
            tick = time.perf_counter()
            row, pred = self.evaluate(label, budget, bits, tune, out)
            predictions[label, budget] = pred
            reference = predictions.get((f"MPQ generic {'+ QAT' if tune else '(PTQ)'}", budget))
            if reference is not None and bits is not None and not label.startswith("MPQ generic"):
                row["Δcrit vs generic"] = self._paired(reference, pred)
            rows.append(row)
            print(f"{label} @ {budget}: overall {row['overall %']}, critical {row['critical % [95% CI]']}, "
                  f"{time.perf_counter() - tick:.1f} s", flush=True)
        return rows

    def evaluate(self, label, budget, bits, tune, out: Path):
        import onnx

        from edgequant.mixed_precision import make_config
        from edgequant.mixed_precision.compress import compress_mixed_precision
        from edgequant.mixed_precision.qat import FakeQuantModel, export_qdq, fine_tune
        from edgequant.training.export import export_onnx

        slug = label.lower().replace(" ", "_").replace("(", "").replace(")", "").replace("+", "plus")
        slug = f"{slug}_{budget:g}" if budget is not None else slug
        if bits is None:
            network = self.model
        elif tune:
            result = fine_tune(self.model, bits, self.data, epochs=self.args.qat_epochs, lr=self.args.qat_lr,
                               batch_size=self.args.batch_size, seed=self.args.seed, device=self.device)
            network = result.model
            tuned_epoch = result.best_epoch
        else:
            network = FakeQuantModel(self.model, bits)
        pred = self._predict(network, self.data.x_test)
        row = {"method": label, "budget": "" if budget is None else f"{budget:g}", **self._accuracies(pred)}
        if tune:
            row["QAT epoch"] = tuned_epoch
        if not bits:
            float_model = network.model.cpu() if bits is not None else network
            onnx_model = onnx.load_from_string(export_onnx(float_model, None, self.shape, opset=13,
                                                           dynamic_batch=True))
            row.update({"bits/weight": 32.0, "model KiB": round(32 * (sum(self.sizes.values()) + self.other_parameters)
                                                                / 8192, 1), ".eqz bytes": ""})
        else:
            network = network.cpu()
            onnx_model = export_qdq(network, out / f"{slug}.onnx", self.shape)
            weights_bits = sum(self.sizes[c] * b for c, b in bits.items())
            eqz = compress_mixed_precision(export_onnx(network.model, None, self.shape, opset=13, dynamic_batch=True),
                                           make_config(bits, self.components), out / f"{slug}.eqz")
            row.update({"bits/weight": round(weights_bits / sum(self.sizes.values()), 3),
                        "model KiB": round((weights_bits + 32 * self.other_parameters) / 8192, 1),
                        ".eqz bytes": eqz.file_bytes})
        row.update(self._engine(onnx_model))
        if label == "PTQ INT8":
            row["engine INT8 dynamic ms"] = self._engine_dynamic_ms()
        return row, pred

    def _predict(self, network, x, batch_size: int = 500) -> np.ndarray:
        import torch

        network = network.to(self.device).eval()
        outputs = []
        with torch.no_grad():
            for begin in range(0, len(x), batch_size):
                batch = torch.from_numpy(x[begin:begin + batch_size]).to(self.device)
                outputs.append(network(batch).argmax(1).cpu())
        return torch.cat(outputs).numpy()

    def _accuracies(self, pred) -> dict:
        from scipy.stats import binomtest

        y, critical = self.data.y_test, self.test_critical
        right = pred == y
        hits, total = int(right[critical].sum()), int(critical.sum())
        interval = binomtest(hits, total).proportion_ci(confidence_level=0.95, method="wilson")
        group = np.full(len(self.class_names), -1)
        for index, members in enumerate(self.critical.groups or [tuple(self.critical)]):
            group[list(members)] = index
        confused = int((critical & (group[pred] == group[y]) & ~right).sum())  # within a confused group
        low, high = 100 * interval.low, 100 * interval.high
        return {"overall %": round(100 * right.mean(), 2),
                "critical % [95% CI]": f"{100 * hits / total:.1f} [{low:.1f}, {high:.1f}]",
                "other %": round(100 * right[~critical].mean(), 2),
                "crit→crit errors": confused}

    def _paired(self, reference, pred) -> str:
        from edgequant.testing.paired_accuracy import compare_accuracy

        critical = self.test_critical
        comparison = compare_accuracy(self.data.y_test[critical], reference[critical], pred[critical], max_drop_pp=0.0,
                                      confidence=0.975)
        # drop = reference − new; report new − reference
        gain, low, high = (0.0 - value for value in (comparison.drop_pp, comparison.upper_pp, comparison.lower_pp))
        return f"{gain:+.1f} [{low:+.1f}, {high:+.1f}]"

    def _engine(self, onnx_model) -> dict:
        from edgequant.engine import Engine, engine_available

        if not engine_available():
            return {"engine %": "", "engine ms": ""}
        engine = Engine(onnx_model.SerializeToString(), threads=1)
        x = self.data.x_test
        pred = np.concatenate([engine.run(x[i:i + 250])[0].argmax(1) for i in range(0, len(x), 250)])
        return {"engine %": round(100 * float(np.mean(pred == self.data.y_test)), 2),
                "engine ms": round(self._latency(engine), 3)}

    def _engine_dynamic_ms(self):
        from edgequant.engine import Engine, engine_available
        from edgequant.training.export import export_onnx

        if not engine_available():
            return ""
        model = export_onnx(self.model, None, self.shape, opset=13, dynamic_batch=True)
        return round(self._latency(Engine(model, mode="dynamic", threads=1)), 3)

    def _latency(self, engine) -> float:
        x = self.data.x_test[:1]
        for _ in range(5):
            engine.run(x)
        times = []
        for _ in range(self.args.latency_runs):
            tick = time.perf_counter()
            engine.run(x)
            times.append(time.perf_counter() - tick)
        return 1000 * float(np.median(times))

    # -- the report --------------------------------------------------------------------------------
    def report(self, rows, fp32_info, seconds, argv) -> str:
        columns = ["method", "budget", "QAT epoch", "overall %", "critical % [95% CI]", "other %", "crit→crit errors",
                   "Δcrit vs generic", "bits/weight", "model KiB", ".eqz bytes", "engine %", "engine ms"]
        lines = [f"Data: {self.data.describe()}. FP32: {fp32_info}.",
                 f"Critical classes (validation confusion): {self.critical.describe()}; "
                 f"{int(self.test_critical.sum())} critical test samples.",
                 f"Components: {len(self.components)} conv/FC weights, {sum(self.sizes.values()):,} weights "
                 f"(+{self.other_parameters:,} float32 parameters); choices {self.args.choices}; "
                 f"QAT {self.args.qat_epochs} epoch(s) at lr {self.args.qat_lr}. Total {seconds / 60:.1f} min.", "",
                 "| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
        for row in rows:
            lines.append("| " + " | ".join(str(row.get(c, "")) for c in columns) + " |")
        dynamic = next((r.get("engine INT8 dynamic ms") for r in rows if "engine INT8 dynamic ms" in r), "")
        lines += ["", f"Engine INT8 dynamic (its own s8 weights, batch 1): {dynamic} ms.", "",
                  "Allocations (bits per layer, in layer order):", ""]
        names = [c.name for c in self.components]
        lines.append("| allocation | " + " | ".join(names) + " |")
        lines.append("|" + "---|" * (len(names) + 1))
        lines.append("| weights | " + " | ".join(f"{self.sizes[n]:,}" for n in names) + " |")
        for (method, budget), bits in self.allocations.items():
            lines.append(f"| {method} @ {budget:g} | " + " | ".join(str(bits[n]) for n in names) + " |")
        return "\n".join(lines) + "\n"


if __name__ == "__main__":
    raise SystemExit(main())
