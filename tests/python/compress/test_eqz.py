"""The .eqz format: exact round trip, real compression, and clear errors on damaged files."""

import struct

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import numpy_helper

from edgequant.cli import main
from edgequant.coding import CorruptDataError
from edgequant.compress import compress_model, decompress_model
from edgequant.model import quantize_weights
from edgequant.quantizers import Deadzone, Midtread, Minifloat, MuLaw
from edgequant.zoo import load_test_set, model_path


def initializers(model):
    return {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}


def outputs(model, x):
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: x})[0]


@pytest.mark.parametrize("quantizer", [Deadzone(512, 0.7, xmax="max"), Midtread(64, xmax="max"), MuLaw(256),
                                       Minifloat(3, 4)])
def test_round_trip_equals_the_quantize_dequantized_model(tmp_path, quantizer):
    x, _ = load_test_set()
    report = compress_model(model_path(), quantizer, tmp_path / "m.eqz")
    restored = decompress_model(tmp_path / "m.eqz")
    expected = quantize_weights(model_path(), quantizer).model
    got, want = initializers(restored), initializers(expected)
    assert got.keys() == want.keys()
    for name in want:
        assert got[name].dtype == want[name].dtype and np.array_equal(got[name], want[name]), name
    np.testing.assert_array_equal(outputs(restored, x), outputs(expected, x))
    assert report.file_bytes == (tmp_path / "m.eqz").stat().st_size


def test_real_compression_on_a_larger_fp16_model(tmp_path, shared_data):
    source = shared_data / "models" / "squeezenet1.0_fp16.onnx"
    report = compress_model(source, Deadzone(256, 0.7, xmax="max"), tmp_path / "s.eqz", compare_general_purpose=True)
    # the coder within 3% of the entropy estimate, and far below general-purpose compressors
    assert abs(report.coding_overhead) < 0.03, report
    assert report.file_bytes < report.xz_bytes / 2
    restored = decompress_model(tmp_path / "s.eqz")
    expected = quantize_weights(source, Deadzone(256, 0.7, xmax="max")).model
    for name, values in initializers(expected).items():
        assert np.array_equal(initializers(restored)[name], values), name
    assert initializers(restored)[next(iter(report_names(restored)))].dtype == np.float16


def report_names(model):
    return [t.name for t in model.graph.initializer if t.data_type == onnx.TensorProto.FLOAT16]


def test_smaller_than_xz_on_the_default_model(tmp_path):
    report = compress_model(
        model_path(), Deadzone(128, 0.7, xmax="max"), tmp_path / "m.eqz", compare_general_purpose=True
    )
    assert report.file_bytes < report.xz_bytes
    assert report.zstd_bytes is None or report.file_bytes < report.zstd_bytes


@pytest.fixture(scope="module")
def eqz_bytes(tmp_path_factory):
    path = tmp_path_factory.mktemp("eqz") / "m.eqz"
    compress_model(model_path(), Deadzone(64, 0.4, xmax="max"), path)
    return path.read_bytes()


def test_every_truncation_is_reported(eqz_bytes):
    for length in sorted(set(np.linspace(0, len(eqz_bytes) - 1, 60).astype(int))):
        with pytest.raises(CorruptDataError):
            decompress_model(eqz_bytes[:length])


def test_corruption_anywhere_is_reported(eqz_bytes):
    rng = np.random.default_rng(0)
    for position in rng.integers(0, len(eqz_bytes), 80):
        damaged = bytearray(eqz_bytes)
        damaged[position] ^= 1 << int(rng.integers(0, 8))
        with pytest.raises(CorruptDataError):
            decompress_model(bytes(damaged))


def test_future_version_and_foreign_files(eqz_bytes):
    newer = bytearray(eqz_bytes)
    struct.pack_into("<H", newer, 4, 99)
    with pytest.raises(CorruptDataError, match="version 99.*newer edgequant"):
        decompress_model(bytes(newer))
    with pytest.raises(CorruptDataError, match="not an .eqz file"):
        decompress_model(model_path().read_bytes())
    with pytest.raises(CorruptDataError, match="unexpected bytes"):
        decompress_model(eqz_bytes + b"\0")


def test_cli_round_trip_and_errors(tmp_path, capsys):
    eqz, onnx_out = tmp_path / "m.eqz", tmp_path / "m.onnx"
    assert main(["compress", str(model_path()), "--method", "deadzone", "--delta", "0.7", "--levels", "512",
                 "--xmax", "max", "-o", str(eqz)]) == 0
    assert "bits/weight" in capsys.readouterr().out
    assert main(["decompress", str(eqz), "-o", str(onnx_out)]) == 0
    expected = quantize_weights(model_path(), Deadzone(512, 0.7, xmax="max")).model
    assert all(np.array_equal(v, initializers(expected)[k]) for k, v in initializers(onnx.load(onnx_out)).items())
    assert main(["compress", str(model_path()), "--method", "lloyd", "-o", str(eqz)]) == 2  # usage errors
    assert "unknown method" in capsys.readouterr().err
    assert main(["compress", str(model_path()), "--method", "midtread", "--levels", "8", "--delta", "0.3",
                 "-o", str(eqz)]) == 2
    assert "does not take --delta" in capsys.readouterr().err
    assert main(["compress", str(model_path()), "--method", "midtread", "--levels", "8",
                 "-o", str(tmp_path / "no" / "m.eqz")]) == 1
    (tmp_path / "bad.eqz").write_bytes(b"EQZ1" + b"\0" * 20)
    assert main(["decompress", str(tmp_path / "bad.eqz"), "-o", str(onnx_out)]) == 1


def test_pooled_layout_keeps_a_small_model_within_3_percent_of_the_entropy(tmp_path):
    from edgequant.quantizers import Affine

    # the demo's best configuration on the default model: three small tensors, one pooled stream
    report = compress_model(model_path(), Affine(3), tmp_path / "m.eqz")
    assert 0 <= report.coding_overhead < 0.03, report
    np.testing.assert_array_equal(outputs(decompress_model(tmp_path / "m.eqz"), load_test_set()[0]),
                                  outputs(quantize_weights(model_path(), Affine(3)).model, load_test_set()[0]))


def test_per_channel_affine_round_trip(tmp_path):
    from edgequant.model import PerChannelAffine

    compress_model(model_path(), PerChannelAffine(4), tmp_path / "pc.eqz")
    expected = initializers(quantize_weights(model_path(), PerChannelAffine(4)).model)
    restored = initializers(decompress_model(tmp_path / "pc.eqz"))
    assert all(np.array_equal(restored[name], values) for name, values in expected.items())


def test_every_part_is_coded_so_xz_gains_nothing(tmp_path, shared_data):
    import lzma

    # the face detector holds three identical 141 KB anchor constants that a raw graph kept
    source = shared_data / "models" / "ultraface-rfb-320.onnx"
    report = compress_model(source, Deadzone(256, 0.7, xmax="max"), tmp_path / "f.eqz", compare_general_purpose=True)
    packed = (tmp_path / "f.eqz").read_bytes()
    assert len(lzma.compress(packed, preset=9)) > 0.98 * len(packed)
    assert report.file_bytes < report.xz_bytes / 4
    restored = initializers(decompress_model(packed))
    for name, values in initializers(quantize_weights(source, Deadzone(256, 0.7, xmax="max")).model).items():
        assert np.array_equal(restored[name], values), name


def test_compress_leaves_a_callers_model_untouched_and_matches_the_path(tmp_path):
    """compress_model drops the coded tensors' values from the model it loaded (one walk over the
    weights, no second copy); a ModelProto the caller passes is copied first, never edited, and
    gives the same file as its path."""
    model = onnx.load(str(model_path()))
    before = model.SerializeToString()
    compress_model(model, Deadzone(levels=255, delta=0.7), tmp_path / "from_proto.eqz")
    assert model.SerializeToString() == before
    compress_model(model_path(), Deadzone(levels=255, delta=0.7), tmp_path / "from_path.eqz")
    assert (tmp_path / "from_proto.eqz").read_bytes() == (tmp_path / "from_path.eqz").read_bytes()
