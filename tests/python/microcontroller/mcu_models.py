"""Names shared by the microcontroller tests (imported as a plain module: pytest puts this folder on sys.path)."""

import pathlib

REPOSITORY = pathlib.Path(__file__).resolve().parents[3]
MLPERF_TINY = {"resnet8": "pretrainedResnet_quant.tflite", "vww": "vww_96_int8.tflite", "kws": "kws_ref_model.tflite"}
