"""Train the embedded digits models of ``edgequant.zoo`` and export them to ONNX.

Data: scikit-learn's digits (1797 grey 8x8 images, values 0..16), scaled to [0, 1] and split
stratified 70/30 with a fixed seed; the 30 % test split is written next to the models as
``digits_test.npz`` and never touched during training (there is no model selection: the
recipe is fixed, so test accuracy is an honest held-out number).

Every model is exported with opset 17, input ``input`` float32 [N, 1, 8, 8], output ``logits``
[N, 10], dynamic batch axis. BatchNormalization nodes are kept (not folded into the
convolutions) so that downstream tools see them. The ONNX outputs are checked against torch.

Only this script needs PyTorch (``pip install torch==2.13.0``); edgequant itself does not.

Usage::

    python scripts/train_digits.py            # writes python/edgequant/zoo/data/*
    python scripts/train_digits.py --out DIR  # elsewhere
"""

from __future__ import annotations

import argparse
import json
import pathlib
import warnings

import numpy as np
import onnx
import onnxruntime as ort
import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from torch import nn

SEED = 0
TEST_FRACTION = 0.3
EPOCHS = 80
BATCH_SIZE = 32
OPSET = 17
DEFAULT_OUT = pathlib.Path(__file__).resolve().parents[1] / "python/edgequant/zoo/data"


def make_digits_cnn_small() -> nn.Module:
    """~5.5k parameters: conv-relu-pool, conv-relu, two fully connected layers."""
    return nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),   # 8 x 4 x 4
        nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(),                   # 16 x 4 x 4
        nn.Flatten(), nn.Linear(256, 16), nn.ReLU(), nn.Linear(16, 10),
    )


def make_digits_cnn() -> nn.Module:
    """~29k parameters: (conv-bn-relu) x 2, max-pool, dropout, fully connected."""
    return nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(),
        nn.Conv2d(32, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU(),
        nn.MaxPool2d(2),                                             # 64 x 4 x 4
        nn.Flatten(), nn.Dropout(0.3), nn.Linear(1024, 10),
    )


def make_digits_mlp() -> nn.Module:
    """~17k parameters, fully connected only (Gemm layers): 64-128-64-10."""
    return nn.Sequential(
        nn.Flatten(), nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 64), nn.ReLU(),
        nn.Linear(64, 10),
    )


MODELS = {
    "digits_cnn_small": make_digits_cnn_small,
    "digits_cnn": make_digits_cnn,
    "digits_mlp": make_digits_mlp,
}


def seed_everything(seed: int) -> None:
    """Seed torch (the only random source: the split uses its own seed); one thread so float
    sums are reproducible."""
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)


def load_split() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Digits scaled to [0, 1] as float32 [N, 1, 8, 8]; stratified 70/30 train/test split."""
    digits = load_digits()
    x = (digits.images / 16.0).astype(np.float32)[:, None, :, :]
    y = digits.target.astype(np.int64)
    return train_test_split(x, y, test_size=TEST_FRACTION, random_state=SEED, stratify=y)


def random_shift(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Shift each image by up to one pixel in each direction, filling with zeros.

    The digits are tiny, so a one-pixel jitter is the cheapest augmentation that helps
    the convolutional models generalise.
    """
    padded = nn.functional.pad(x, (1, 1, 1, 1))
    offsets = torch.randint(0, 3, (x.shape[0], 2), generator=generator)
    crops = [padded[i, :, r:r + 8, c:c + 8] for i, (r, c) in enumerate(offsets.tolist())]
    return torch.stack(crops)


def train(model: nn.Module, x_train: np.ndarray, y_train: np.ndarray) -> nn.Module:
    """Adam with cosine decay and label smoothing, fixed epochs (no early stopping on test)."""
    generator = torch.Generator().manual_seed(SEED)
    x = torch.from_numpy(x_train)
    y = torch.from_numpy(y_train)
    optimiser = torch.optim.Adam(model.parameters(), lr=3e-3, weight_decay=1e-4)
    steps_per_epoch = (len(x) + BATCH_SIZE - 1) // BATCH_SIZE
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, EPOCHS * steps_per_epoch)
    loss_fn = nn.CrossEntropyLoss(label_smoothing=0.05)
    model.train()
    for _ in range(EPOCHS):
        order = torch.randperm(len(x), generator=generator)
        for start in range(0, len(x), BATCH_SIZE):
            batch = order[start:start + BATCH_SIZE]
            optimiser.zero_grad()
            loss = loss_fn(model(random_shift(x[batch], generator)), y[batch])
            loss.backward()
            optimiser.step()
            schedule.step()
    return model.eval()


def export(model: nn.Module, path: pathlib.Path) -> None:
    """ONNX opset 17 with the BatchNormalization nodes kept.

    The TorchScript exporter folds BN into Conv when asked for EVAL mode; PRESERVE on a model
    already in eval mode exports inference-mode BN nodes without the fold.
    """
    with warnings.catch_warnings():
        # Both are expected: we choose the TorchScript exporter on purpose (it needs no
        # onnxscript), and constant folding is safe because the model is in eval mode.
        warnings.filterwarnings("ignore", message=".*legacy TorchScript-based ONNX export")
        warnings.filterwarnings("ignore", message=".*constant folding be turned off")
        torch.onnx.export(
            model, (torch.zeros(1, 1, 8, 8),), str(path), dynamo=False, opset_version=OPSET,
            input_names=["input"], output_names=["logits"],
            dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
            training=torch.onnx.TrainingMode.PRESERVE, do_constant_folding=True,
        )
    proto = onnx.load(str(path))
    proto.doc_string = (f"edgequant.zoo {path.stem}: trained by scripts/train_digits.py "
                        f"(seed {SEED})")
    proto.producer_name = "edgequant scripts/train_digits.py"
    onnx.checker.check_model(proto, full_check=True)
    onnx.save(proto, str(path))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=pathlib.Path, default=DEFAULT_OUT)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)

    seed_everything(SEED)
    x_train, x_test, y_train, y_test = load_split()
    np.savez_compressed(args.out / "digits_test.npz", x=x_test, y=y_test)
    print(f"train {len(x_train)} / test {len(x_test)} images")

    summary = {}
    for name, make in MODELS.items():
        seed_everything(SEED)
        model = train(make(), x_train, y_train)
        path = args.out / f"{name}.onnx"
        export(model, path)

        with torch.no_grad():
            torch_logits = model(torch.from_numpy(x_test)).numpy()
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        onnx_logits = session.run(["logits"], {"input": x_test})[0]
        max_diff = float(np.abs(onnx_logits - torch_logits).max())
        accuracy = float((onnx_logits.argmax(axis=1) == y_test).mean())
        params = sum(p.numel() for p in model.parameters())
        ops = sorted({node.op_type for node in onnx.load(str(path)).graph.node})
        summary[name] = {"params": params, "test_accuracy": round(accuracy, 4),
                         "test_images": len(y_test), "onnx_ops": ops}
        print(f"{name}: {params} params, test accuracy {accuracy:.2%} ({len(y_test)} images), "
              f"max |onnx - torch| = {max_diff:.2e}, {path.stat().st_size} bytes, ops {ops}")
        if max_diff > 1e-4:
            raise SystemExit(f"{name}: ONNX and torch disagree by {max_diff}")
    # The card is what edgequant.zoo.model_info reports and what the tests hold the models to.
    card = {"seed": SEED, "test_fraction": TEST_FRACTION, "epochs": EPOCHS,
            "torch": torch.__version__, "models": summary}
    (args.out / "models.json").write_text(json.dumps(card, indent=2) + "\n")
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
