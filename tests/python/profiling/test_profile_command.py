"""Profiling: the Python API and the profile subcommand end to end on a small model."""

import json

import numpy as np
import pytest

import edgequant
from edgequant import zoo
from edgequant.cli import main
from edgequant.engine import engine_available

pytestmark = pytest.mark.skipif(not engine_available(), reason="edgequant built without the inference engine")


def test_profile_writes_json(tmp_path, capsys):
    out = tmp_path / "profile.json"
    code = main(["profile", str(zoo.model_path()), "--mode", "dynamic", "--runs", "3", "--warmup", "1",
                 "--threads", "1", "--json", str(out)])
    assert code == 0
    results = json.loads(out.read_text())
    run = results["runs"]["edgequant dynamic"]
    assert run["p50_ms"] > 0 and run["layers"] and results["model_bytes"] > 0
    assert "slowest layers" in capsys.readouterr().out


def test_compare_runs_every_mode_of_both_engines_on_the_same_inputs(tmp_path):
    x, _ = zoo.load_test_set()
    report = edgequant.profile(zoo.model_path(), compare=True, runs=3, warmup=1, threads=1, calibration=x[:64],
                               inputs=x[:32])
    runs = {name: run for name, run in report.runs.items() if not name.startswith("openvino")}  # its own tests
    assert set(runs) == {f"{engine} {mode}" for engine in ("edgequant", "onnxruntime")
                         for mode in ("fp32", "static", "dynamic")}
    assert report.batch == 32
    for name, run in runs.items():
        assert run["p50_ms"] <= run["p90_ms"] <= run["p99_ms"] and run["throughput_per_s"] > 0, name
        assert 0.95 <= run["top1_agreement"] <= 1.0 and len(run["confidence_shift"]) == 32, name
    assert report.runs["edgequant fp32"]["confidence_shift_mean_abs"] == 0.0
    assert "session_rss_mib" in report.runs["edgequant static"]
    assert report.plot(tmp_path / "p.png").stat().st_size > 10_000
    assert "onnxruntime dynamic" in report.table()


def test_profile_bad_arguments(tmp_path):
    assert main(["profile", str(tmp_path / "missing.onnx")]) == 1
    with pytest.raises(ValueError, match="mode"):
        edgequant.profile(zoo.model_path(), mode="int4")
    with pytest.raises(ValueError, match="runs"):
        edgequant.profile(zoo.model_path(), runs=0)
    assert np.isfinite(edgequant.profile(zoo.model_path(), runs=2, warmup=0).runs["edgequant fp32"]["mean_ms"])


# --- real models: peers that fail, per-output metrics, fixed batches, calibration data ------------------------

def _model(shared_data, name):
    return shared_data / "models" / f"{name}.onnx"


def test_a_failing_peer_keeps_its_row_and_the_other_measurements(shared_data, monkeypatch, capsys, tmp_path):
    from edgequant.profiling import onnxruntime_peer

    def refuse(*args, **kwargs):
        raise ValueError("The truth value of an array with more than one element is ambiguous")

    monkeypatch.setattr(onnxruntime_peer, "quantized_model", refuse)
    code = main(["profile", str(_model(shared_data, "mnist-8")), "--compare", "--runs", "2", "--warmup", "0",
                 "--threads", "1", "--layers", "0", "--plot", str(tmp_path / "p.png")])
    out = capsys.readouterr().out
    assert code == 0
    assert "onnxruntime static    failed: ValueError: The truth value" in out
    assert "onnxruntime dynamic   failed" in out
    for name in ("edgequant fp32", "edgequant static", "edgequant dynamic", "onnxruntime fp32"):
        row = next(line for line in out.splitlines() if line.startswith(name))
        assert "failed" not in row and len(row.split()) >= 9, row
    assert "slowest layers" not in out  # --layers 0: no empty headings


@pytest.mark.parametrize("name", ["mnist-8", "ultraface-rfb-320"])
def test_compare_on_old_opset_fixed_batch_models(shared_data, name, tmp_path):
    """Opset 8 / 9, batch fixed to 1: every row measured, ONNX Runtime's quantizers included."""
    from edgequant.datasets import model_data

    x, _ = model_data(name, limit=4)
    report = edgequant.profile(_model(shared_data, name), compare=True, runs=2, warmup=0, threads=1,
                               calibration=x, inputs=x[:1])
    # OpenVINO's INT8 transformations refuse ORT's QDQ UltraFace (MultiplyPartialTransformation): a peer's limit
    runs = {run: r for run, r in report.runs.items() if not run.startswith("openvino")}
    failed = {run: r["error"] for run, r in runs.items() if "error" in r}
    assert not failed
    for run, r in runs.items():
        assert r["cosine"] > 0.95 and r.get("session_rss_mib", 0.0) >= 0, run
    assert report.plot(tmp_path / "p.png").stat().st_size > 10_000


def test_detector_metrics_fit_the_outputs(shared_data):
    """UltraFace: the flattened argmax called near-identical outputs 0 % alike; per-output cosine,
    errors and detection agreement after NMS say how close they are."""
    from edgequant.datasets import model_data

    x, _ = model_data("ultraface-rfb-320", limit=4)
    report = edgequant.profile(_model(shared_data, "ultraface-rfb-320"), mode="static", runs=1, warmup=0,
                               threads=1, calibration=x, inputs=x[:1])
    run = report.runs["edgequant static"]
    assert set(run["outputs"]) == {"scores", "boxes"}
    assert "top1_agreement" not in run  # no [N, classes] output
    assert run["detection_agreement"] >= 0.9 and run["cosine"] > 0.99
    assert 0 < run["outputs"]["scores"]["max_abs_error"] < 0.5
    assert run["max_relative_error"] == max(m["max_relative_error"] for m in run["outputs"].values())
    assert run["session_rss_mib"] >= 0


def test_session_memory_is_never_negative():
    x, _ = zoo.load_test_set()
    report = edgequant.profile(zoo.model_path(), compare=True, runs=2, warmup=0, threads=1, calibration=x[:32],
                               inputs=x[:8])
    assert all(r["session_rss_mib"] >= 0 for r in report.runs.values() if "session_rss_mib" in r)


def test_fixed_batch_default_calibration_is_32_samples(shared_data, monkeypatch):
    from edgequant.profiling import harness

    seen = []

    class Recording(harness.Engine):
        def calibrate(self, calibration, *args, **kwargs):
            seen.append(np.asarray(calibration[0] if isinstance(calibration, list) else calibration).shape[0])
            return super().calibrate(calibration, *args, **kwargs)

    monkeypatch.setattr(harness, "Engine", Recording)
    edgequant.profile(_model(shared_data, "mnist-8"), mode="static", runs=1, warmup=0, threads=1)
    assert seen == [harness.DEFAULT_CALIBRATION_SAMPLES] == [32]


def test_cli_calibrates_on_a_folder_of_images(shared_data, tmp_path, capsys):
    out = tmp_path / "r.json"
    code = main(["profile", str(_model(shared_data, "ultraface-rfb-320")), "--mode", "static", "--runs", "1",
                 "--warmup", "0", "--threads", "1", "--calibration", str(shared_data / "models" / "ultraface_imgs"),
                 "--scale", "1", "--mean", "127", "--std", "128", "--channel-order", "rgb", "--method", "entropy",
                 "--json", str(out)])
    assert code == 0, capsys.readouterr().err
    assert "per output:" in capsys.readouterr().out
    assert json.loads(out.read_text())["runs"]["edgequant static"]["outputs"]["scores"]["cosine"] > 0.9


def test_cli_reports_data_errors_in_one_line(shared_data, tmp_path, capsys):
    np.save(tmp_path / "bad.npy", np.full((2, 1, 28, 28), np.nan, np.float32))
    code = main(["profile", str(_model(shared_data, "mnist-8")), "--mode", "static", "--calibration",
                 str(tmp_path / "bad.npy")])
    err = capsys.readouterr().err
    assert code == 1 and "NaN" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert main(["profile", str(zoo.model_path()), "--layers", "-1"]) == 2  # usage errors exit 2
    assert main(["profile", str(zoo.model_path()), "--size", "big"]) == 2


def test_a_quantized_file_is_profiled_with_its_own_scales(tmp_path):
    """A QDQ file: static INT8 runs the file's scales (no calibration), the reference is the file's
    float semantics (fp32 mode), ONNX Runtime runs the file as it is and has no dynamic row."""
    from edgequant.engine import Engine

    x, _ = zoo.load_test_set()
    path = tmp_path / "qdq.onnx"
    Engine(zoo.model_path(), mode="static", calibration=x[:64]).save_quantized(path)
    report = edgequant.profile(path, mode="static", compare=True, runs=2, warmup=0, threads=1, inputs=x[:16])
    assert report.runs["edgequant fp32"]["confidence_shift_mean_abs"] == 0.0  # the reference itself
    for name in ("edgequant static", "onnxruntime static"):
        assert "error" not in report.runs[name], report.runs[name]
        assert report.runs[name]["top1_agreement"] >= 0.9, name
    assert report.runs["onnxruntime dynamic"]["absent"]
    assert "quantized already" in report.table()


# --- models exported with any image size ---------------------------------------------------------------------

def _any_size_model(path, nhwc=False):
    """Two stride-2 convs and an Add of the second with a pool of the first: a 1x1 image fails it."""
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    shape = ["N", "H", "W", 3] if nhwc else ["N", 3, "H", "W"]
    nodes = [helper.make_node("Transpose", ["x"], ["xc"], perm=[0, 3, 1, 2])] if nhwc else []
    source = "xc" if nhwc else "x"
    nodes += [helper.make_node("Conv", [source, "w1"], ["a"], strides=[2, 2], pads=[1, 1, 1, 1]),
              helper.make_node("Conv", ["a", "w2"], ["b"], strides=[2, 2], pads=[1, 1, 1, 1]),
              helper.make_node("MaxPool", ["a"], ["p"], kernel_shape=[2, 2], strides=[2, 2]),
              helper.make_node("Add", ["b", "p"], ["y"])]
    weights = [numpy_helper.from_array(rng.standard_normal((8, 3, 3, 3)).astype(np.float32), "w1"),
               numpy_helper.from_array(rng.standard_normal((8, 8, 3, 3)).astype(np.float32), "w2")]
    graph = helper.make_graph(nodes, "any_size", [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], weights)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    path.write_bytes(model.SerializeToString())
    return path


@pytest.mark.parametrize("nhwc", [False, True])
def test_random_inputs_give_an_image_model_of_any_size_the_size_asked(tmp_path, nhwc):
    from edgequant.engine import Engine
    from edgequant.profiling.timing import random_inputs

    engine = Engine(_any_size_model(tmp_path / "m.onnx", nhwc), threads=1)
    (x,) = random_inputs(engine, 2, size=(40, 24))
    assert x.shape == ((2, 40, 24, 3) if nhwc else (2, 3, 40, 24))
    (x,) = random_inputs(engine, 1, samples=5, size=(40, 24))
    assert x.shape[0] == 5
    with pytest.raises(ValueError, match=r"'x' has shape .*'\?', '\?'.*--size HxW"):
        random_inputs(engine, 1)


def test_profile_of_a_model_taking_any_image_size(tmp_path, capsys):
    path = _any_size_model(tmp_path / "m.onnx")
    report = edgequant.profile(path, mode="static", runs=2, warmup=0, threads=1, size=(32, 48))
    assert report.runs["edgequant static"]["p50_ms"] > 0
    with pytest.raises(ValueError, match="size"):
        edgequant.profile(path, size=(32, 0))
    # without a size: one line naming the input and the option, not an error from deep in the model
    assert main(["profile", str(path), "--runs", "1", "--warmup", "0"]) == 1
    err = capsys.readouterr().err
    assert "'x'" in err and "--size HxW" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert main(["profile", str(path), "--runs", "1", "--warmup", "0", "--threads", "1", "--size", "64x32"]) == 0


def test_an_image_folder_for_a_model_of_any_size_needs_the_size(shared_data, tmp_path, capsys):
    path = _any_size_model(tmp_path / "m.onnx")
    images = str(shared_data / "models" / "ultraface_imgs")
    assert main(["profile", str(path), "--mode", "static", "--runs", "1", "--calibration", images]) == 1
    err = capsys.readouterr().err
    assert "any height and width" in err and "--size HxW" in err and len(err.strip().splitlines()) == 1
    assert main(["profile", str(path), "--mode", "static", "--runs", "1", "--warmup", "0", "--threads", "1",
                 "--calibration", images, "--size", "48x64"]) == 0


def test_compare_on_a_tflite_model_runs_the_peers_on_its_onnx_form(shared_data):
    """The engine takes a .tflite file; ONNX Runtime and OpenVINO then run the ONNX form the engine runs
    (they failed on the flatbuffer with protobuf errors before)."""
    path = shared_data / "tflite" / "pretrainedResnet.tflite"  # float: all three ONNX Runtime modes apply
    report = edgequant.profile(path, compare=True, runs=2, warmup=0, threads=1)
    for mode in ("fp32", "static", "dynamic"):
        assert "error" not in report.runs[f"onnxruntime {mode}"], report.runs[f"onnxruntime {mode}"]
    assert report.runs["onnxruntime fp32"]["cosine"] > 0.9999
