"""``edgequant mpq``: semantic-significance mixed precision — measure, allocate, write a bit config."""

from __future__ import annotations

import contextlib

from .argument_types import integer, real
from .errors import UsageError, input_file, output_file
from .output_paths import atomic_output, refuse_output_is_input


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "mpq", help="mixed precision by semantic significance: a bit width per weight under a budget",
        description="Measure each component's semantic significance S_c (rise of the mean cross-entropy on the "
                    "critical classes' samples when only that component is quantized) and its generic sensitivity "
                    "(the same over all samples) at every bit choice, allocate bit widths minimising the summed "
                    "S_c under the budget exactly, and write a JSON bit config that `edgequant compress "
                    "--bits-config` reads.")
    parser.add_argument("model", help="ONNX classifier (first output: logits)")
    parser.add_argument("--data", required=True, metavar="FILE.npz",
                        help="validation data: arrays x (inputs) and y (labels), optional class_names")
    parser.add_argument("--critical", default="auto",
                        help='"auto" (the most confused pairs of the FP32 confusion matrix) or class names "cat,dog"')
    parser.add_argument("--pairs", type=integer(minimum=1), default=1,
                        help="with --critical auto: how many confused pairs (1)")
    parser.add_argument("--class-names", help="comma-separated class names (default: the npz's class_names, "
                                              "else 0, 1, ...)")
    budget = parser.add_mutually_exclusive_group(required=True)
    budget.add_argument("--budget", type=real(above=0), help="average bits per weight (e.g. 4)")
    budget.add_argument("--budget-bytes", type=integer(minimum=1),
                        help="entropy-coded bytes of the weights (edgequant's coder)")
    parser.add_argument("--bits", type=integer(2, 16), nargs="+", default=[2, 4, 8], help="bit choices (2 4 8)")
    parser.add_argument("--per-channel", action="store_true", help="one bit width per output channel")
    parser.add_argument("--backend", choices=("onnxruntime", "edgequant"), default="onnxruntime")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--workers", type=integer(minimum=1), default=None,
                       help="local worker processes (default: CPU count)")
    where.add_argument("--scheduler", metavar="ADDRESS",
                       help="evaluate on the workers of this Dask scheduler (e.g. tcp://10.0.0.5:8786; "
                            "needs dask.distributed, and edgequant on the workers)")
    parser.add_argument("--db", metavar="FILE.sqlite",
                        help="SQLite results file: every finished evaluation is recorded, and rerunning the same "
                             "command skips what is recorded (resumes an interrupted run)")
    parser.add_argument("--out", required=True, metavar="CFG.json", help="the bit config to write")
    parser.set_defaults(handler=run)


def run(args) -> int:
    import numpy as np

    from ..mixed_precision import (
        achieved_bits_per_weight,
        allocate_bits,
        coded_weight_bytes,
        confusion_matrix,
        critical_classes,
        list_components,
        make_config,
        parse_critical,
        save_config,
        significance_tables,
    )
    from ..mixed_precision.losses import model_logits
    from ..mixed_precision.quantization import check_choices

    model = input_file(args.model, "MODEL")
    output = output_file(args.out, "--out")
    if args.db is not None:
        output_file(args.db, "--db")
    refuse_output_is_input({"--out": output, "--db": args.db}, {"MODEL": model, "--data": args.data})
    try:
        choices = check_choices(args.bits)
    except ValueError as error:
        raise UsageError(f"--bits: {error}") from None
    x, y, names = _load_data(input_file(args.data, "--data"), args.class_names)
    logits = model_logits(model, x, args.backend)
    classes = logits.reshape(len(x), -1).shape[1]
    if names is None:
        names = [str(c) for c in range(classes)]
    if len(names) != classes:
        raise UsageError(f"{len(names)} class names for a model with {classes} outputs")
    if y.max() >= classes:
        raise ValueError(f"--data: label {y.max()} is out of range for a model with {classes} classes")
    predictions = logits.reshape(len(x), -1).argmax(axis=1)
    confusion = confusion_matrix(y, predictions, classes)
    if args.critical.strip().lower() == "auto":
        critical = critical_classes(confusion, k=args.pairs, class_names=names)
    else:
        critical = parse_critical(args.critical, names)

    components = list_components(model, per_channel=args.per_channel)
    with _executor(args.scheduler) as executor:
        semantic, generic = significance_tables(model, x, y, critical, choices, per_channel=args.per_channel,
                                                workers=args.workers, backend=args.backend, executor=executor,
                                                db=args.db)
    sizes = {c.name: c.size for c in components}
    coded = None
    if args.budget_bytes is not None:
        coded = coded_weight_bytes(model, components, choices)
        chosen = allocate_bits(semantic, sizes, budget_bytes=args.budget_bytes, choices=choices, coded_bytes=coded)
        by_generic = allocate_bits(generic, sizes, budget_bytes=args.budget_bytes, choices=choices, coded_bytes=coded)
    else:
        chosen = allocate_bits(semantic, sizes, budget_bits_per_weight=args.budget, choices=choices)
        by_generic = allocate_bits(generic, sizes, budget_bits_per_weight=args.budget, choices=choices)

    accuracy = float(np.mean(predictions == y))
    print(f"FP32 accuracy {100 * accuracy:.2f} % on {len(y)} samples; critical classes: {critical.describe()} "
          f"({int(np.isin(y, critical.classes).sum())} samples)")
    _print_table(components, semantic, generic, chosen, by_generic, choices)
    achieved = achieved_bits_per_weight(chosen, sizes)
    line = f"budget: {args.budget} bits/weight" if args.budget is not None else f"budget: {args.budget_bytes} bytes"
    line += f"; achieved {achieved:.4f} bits/weight"
    if coded is not None:
        line += f", {sum(coded[c][b] for c, b in chosen.items())} coded bytes"
    print(line)
    config = make_config(
        chosen, components,
        critical={"classes": list(critical.classes), "names": list(critical.names or ()),
                  "pairs": [list(p) for p in critical.pairs], "confusion": critical.scores},
        budget={"bits_per_weight": args.budget, "bytes": args.budget_bytes},
        achieved_bits_per_weight=achieved, choices=list(choices), per_channel=args.per_channel,
        significance={"semantic": _json_costs(semantic), "generic": _json_costs(generic)},
        generic_allocation=by_generic)
    with atomic_output(output) as temporary:
        save_config(config, temporary)
    print(f"wrote {output}")
    return 0


@contextlib.contextmanager
def _executor(scheduler: str | None):
    """None (the local pool), or the executor of a Dask client connected to ``scheduler``."""
    if scheduler is None:
        yield None
        return
    try:
        from distributed import Client
    except ImportError:
        raise ValueError("--scheduler needs dask.distributed: pip install 'edgequant[dask]'") from None
    try:
        client = Client(scheduler, timeout="30s")
    except (OSError, TimeoutError) as error:
        raise ValueError(f"--scheduler {scheduler}: cannot connect ({error})") from None
    with client:
        yield client.get_executor()


def _load_data(path, class_names: str | None):
    import numpy as np

    try:
        archive = np.load(path, allow_pickle=False)
    except Exception as error:  # numpy raises several kinds for a file that is not an npz
        raise ValueError(f"--data {path}: not a readable .npz file ({error})") from None
    with archive:
        missing = [key for key in ("x", "y") if key not in archive.files]
        if missing:
            raise ValueError(f"--data {path} has no array(s) {missing} (it holds {archive.files}); "
                             "save it with numpy.savez(path, x=inputs, y=labels)")
        x, y = archive["x"], archive["y"]
        names = [str(n) for n in archive["class_names"]] if "class_names" in archive.files else None
    if class_names is not None:
        names = [n.strip() for n in class_names.split(",")]
    if y.ndim != 1 or y.dtype.kind not in "iu" or len(y) != len(x) or len(y) == 0:
        raise ValueError(f"--data {path}: y must hold one integer label per sample of x "
                         f"(x {x.shape}, y {y.shape} {y.dtype})")
    if y.min() < 0:
        raise ValueError(f"--data {path}: y holds a negative label")
    if x.dtype.kind not in "fiu":  # complex would silently lose its imaginary part in float32
        raise ValueError(f"--data {path}: x must hold real numbers, got dtype {x.dtype}")
    return x.astype(np.float32), y.astype(np.int64), names


def _json_costs(costs):
    return {name: {str(b): value for b, value in row.items()} for name, row in costs.items()}


def _print_table(components, semantic, generic, chosen, by_generic, choices) -> None:
    width = max(9, max(len(c.name) for c in components))
    head = f"{'component':<{width}} {'weights':>8} " + " ".join(f"{'S_c@' + str(b):>9}" for b in choices)
    head += " " + " ".join(f"{'gen@' + str(b):>9}" for b in choices) + f" {'bits':>4} {'(gen)':>5}"
    print(head)
    for c in components:
        row = f"{c.name:<{width}} {c.size:>8} " + " ".join(f"{semantic[c.name][b]:>9.5f}" for b in choices)
        row += " " + " ".join(f"{generic[c.name][b]:>9.5f}" for b in choices)
        print(row + f" {chosen[c.name]:>4} {by_generic[c.name]:>5}")
