"""The "real models" suite: every entry point over every shared third-party model and every
``zoo.architectures`` graph written at opsets 7, 9, 11, 13 and 17 (small: 32x32 inputs, width 0.125, 10 classes)."""

import pathlib
import sys

import numpy as np
import pytest

from edgequant.engine import engine_available

sys.path.insert(0, str(pathlib.Path(__file__).parent))

from older_opsets import at_opset  # noqa: E402

if not engine_available():
    pytest.skip("edgequant built without the inference engine", allow_module_level=True)

ARCHITECTURE_SIZE, ARCHITECTURE_WIDTH, ARCHITECTURE_CLASSES, SAMPLES = 32, 0.125, 10, 4


class RealModel:
    """A model file with calibration / evaluation inputs (samples on axis 0)."""

    def __init__(self, case: str, path: pathlib.Path, inputs: np.ndarray):
        self.case, self.path, self.inputs = case, path, inputs


@pytest.fixture(scope="session")
def real_model_cache(tmp_path_factory):
    return {}, tmp_path_factory.mktemp("real_models")


@pytest.fixture
def real_model(case, real_model_cache, shared_data) -> RealModel:
    """The model of the test's ``case`` parameter (built and written once per session)."""
    cache, folder = real_model_cache
    if case not in cache:
        cache[case] = _load(case, folder, shared_data)
    return cache[case]


def _load(case: str, folder: pathlib.Path, shared_data: pathlib.Path) -> RealModel:
    from edgequant.datasets import model_data
    from edgequant.zoo import architectures

    family, variant = case.split("/")
    if family == "shared":
        inputs, _ = model_data(variant, limit=SAMPLES)
        return RealModel(case, shared_data / "models" / f"{variant}.onnx", inputs.astype(np.float32))
    model = at_opset(architectures.build(family, input_size=ARCHITECTURE_SIZE, width=ARCHITECTURE_WIDTH,
                                         num_classes=ARCHITECTURE_CLASSES),
                     int(variant.removeprefix("opset")))
    path = folder / f"{family}_{variant}.onnx"
    path.write_bytes(model.SerializeToString())
    inputs = np.random.default_rng(0).random((SAMPLES, 3, ARCHITECTURE_SIZE, ARCHITECTURE_SIZE), dtype=np.float32)
    return RealModel(case, path, inputs)
