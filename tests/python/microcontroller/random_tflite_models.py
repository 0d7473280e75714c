"""Random valid int8 TFLite models of one to three operators (the kernels export-c has), as
:class:`tflite_forge.ModelSpec`: the seeds the export fuzzer mutates. Quantization parameters are
chosen so outputs spread over the int8 range instead of saturating, which keeps comparisons with
TensorFlow Lite Micro sensitive."""

from __future__ import annotations

import math

import numpy as np
from tflite_forge import ModelSpec, OpSpec, TensorSpec

FUSED = ("NONE", "RELU", "RELU6", "RELU_N1_TO_1")


def tflite_output_size(size: int, kernel: int, stride: int, dilation: int, padding: str) -> int:
    """TFLite's ComputeOutSize."""
    effective = (kernel - 1) * dilation + 1
    if padding == "SAME":
        return (size + stride - 1) // stride
    return (size - effective + stride) // stride


class _Builder:
    def __init__(self, rng):
        self.rng = rng
        self.tensors, self.operators = [], []

    def tensor(self, shape, scale, zero_point, dtype="INT8", data=None, per_channel=None, axis=0):
        scales = list(per_channel) if per_channel is not None else [float(scale)]
        zero_points = [0] * len(scales) if per_channel is not None else [int(zero_point)]
        self.tensors.append(TensorSpec(f"t{len(self.tensors)}", list(shape), dtype, scales, zero_points, axis, data))
        return len(self.tensors) - 1

    def activation(self, shape, scale=None):
        scale = scale if scale is not None else float(math.exp(self.rng.uniform(math.log(0.004), math.log(0.3))))
        return self.tensor(shape, scale, int(self.rng.integers(-100, 100)))

    def scale_of(self, t):
        return self.tensors[t].scale[0]

    def weights(self, shape):
        return self.rng.integers(-127, 128, shape).astype(np.int8)

    def output_scale(self, in_scale, w_scale, volume):
        # the accumulator's spread for uniform int8 data, mapped onto about a third of the int8 range
        spread = in_scale * w_scale * math.sqrt(volume) * 73.0 * 40.0
        return float(spread / 40.0 * self.rng.uniform(0.5, 2.0))

    # ---- operators: each takes the current tensor and returns the new one (or None: not applicable)
    def conv(self, x, depthwise=False, keep_shape=False):
        _, h, w, c = self.tensors[x].shape
        k = 3 if keep_shape else int(self.rng.integers(1, 4))
        stride = 1 if keep_shape else int(self.rng.integers(1, 3))
        dilation = 1 if keep_shape else int(self.rng.integers(1, 3))
        padding = "SAME" if keep_shape else str(self.rng.choice(["SAME", "VALID"]))
        oh, ow = (tflite_output_size(s, k, stride, dilation, padding) for s in (h, w))
        if oh < 1 or ow < 1:
            padding = "SAME"
            oh, ow = (tflite_output_size(s, k, stride, dilation, padding) for s in (h, w))
        multiplier = 1 if keep_shape or not depthwise else int(self.rng.integers(1, 3))
        oc = c * multiplier if depthwise else (c if keep_shape else int(self.rng.integers(1, 6)))
        in_scale = self.scale_of(x)
        # per-channel weight scales as converters write them today; now and then one per tensor, as older ones did
        w_scales = [float(math.exp(self.rng.uniform(math.log(0.002), math.log(0.05))))
                    for _ in range(oc if self.rng.random() < 0.7 else 1)]
        filter_shape = (1, k, k, oc) if depthwise else (oc, k, k, c)
        filt = self.tensor(filter_shape, 0, 0, data=self.weights(filter_shape), per_channel=w_scales,
                           axis=3 if depthwise else 0)
        bias = self.tensor((oc,), 0, 0, "INT32", self.rng.integers(-2000, 2000, oc).astype(np.int32),
                           per_channel=[in_scale * s for s in w_scales])
        volume = k * k * (1 if depthwise else c)
        out = self.activation((1, oh, ow, oc), self.output_scale(in_scale, float(np.mean(w_scales)), volume))
        options = {"padding": padding, "stride_w": stride, "stride_h": stride, "dilation_w": dilation,
                   "dilation_h": dilation, "activation": str(self.rng.choice(FUSED))}
        if depthwise:
            options["depth_multiplier"] = multiplier
        kind = "DEPTHWISE_CONV_2D" if depthwise else "CONV_2D"
        self.operators.append(OpSpec(kind, [x, filt, bias], [out], options))
        return out

    def pool(self, x, kind, keep_shape=False):
        _, h, w, c = self.tensors[x].shape
        k = 3 if keep_shape else int(self.rng.integers(1, 4))
        stride = 1 if keep_shape else int(self.rng.integers(1, 3))
        padding = "SAME" if keep_shape else str(self.rng.choice(["SAME", "VALID"]))
        oh, ow = (tflite_output_size(s, k, stride, 1, padding) for s in (h, w))
        if oh < 1 or ow < 1:
            padding = "SAME"
            oh, ow = (tflite_output_size(s, k, stride, 1, padding) for s in (h, w))
        source = self.tensors[x]
        out = self.tensor((1, oh, ow, c), source.scale[0], source.zero_point[0])
        self.operators.append(OpSpec(kind, [x], [out], {"padding": padding, "stride_w": stride, "stride_h": stride,
                                                         "filter_w": k, "filter_h": k,
                                                         "activation": str(self.rng.choice(FUSED))}))
        return out

    def fully_connected(self, x, keep_shape=False):
        shape = self.tensors[x].shape
        depth = shape[-1]
        batches = int(np.prod(shape)) // depth
        units = depth if keep_shape else int(self.rng.integers(1, 12))
        in_scale = self.scale_of(x)
        w_scale = float(math.exp(self.rng.uniform(math.log(0.002), math.log(0.05))))
        filt = self.tensor((units, depth), w_scale, 0, data=self.weights((units, depth)))
        bias = self.tensor((units,), in_scale * w_scale, 0, "INT32",
                           self.rng.integers(-2000, 2000, units).astype(np.int32))
        out = self.activation((batches, units), self.output_scale(in_scale, w_scale, depth))
        self.operators.append(OpSpec("FULLY_CONNECTED", [x, filt, bias], [out],
                                     {"activation": str(self.rng.choice(FUSED))}))
        return out

    def softmax(self, x):
        out = self.tensor(self.tensors[x].shape, 1 / 256, -128)
        beta = float(self.rng.choice([1.0, 0.5, 2.0]))
        self.operators.append(OpSpec("SOFTMAX", [x], [out], {"beta": beta}))
        return out

    def reshape(self, x):
        shape = self.tensors[x].shape
        size = int(np.prod(shape))
        new_shape = (1, size) if len(shape) == 4 else (1, 1, 1, size)
        target = self.tensor((len(new_shape),), 0, 0, "INT32", np.array(new_shape, np.int32))
        self.tensors[target].scale, self.tensors[target].zero_point = [], []
        source = self.tensors[x]
        out = self.tensor(new_shape, source.scale[0], source.zero_point[0])
        self.operators.append(OpSpec("RESHAPE", [x, target], [out]))
        return out

    def add(self, x, other):
        """``other``: an activation index of the same shape, or None for a constant operand."""
        shape = self.tensors[x].shape
        if other is None:
            other = self.tensor(shape, self.scale_of(x) * self.rng.uniform(0.5, 2), int(self.rng.integers(-50, 50)),
                                data=self.weights(shape))
        out = self.activation(shape, max(self.scale_of(x), self.scale_of(other)) * self.rng.uniform(1.0, 2.5))
        inputs = [x, other] if self.rng.random() < 0.5 else [other, x]
        self.operators.append(OpSpec("ADD", inputs, [out], {"activation": str(self.rng.choice(FUSED))}))
        return out


def random_model(rng) -> ModelSpec:
    """A valid int8 model: an image or vector input and one to three operators (sometimes a residual ADD)."""
    b = _Builder(rng)
    if rng.random() < 0.75:
        x = b.activation((1, int(rng.integers(1, 9)), int(rng.integers(1, 9)), int(rng.integers(1, 5))))
    else:
        x = b.activation((1, int(rng.integers(1, 24))))
    source = x
    for _ in range(int(rng.integers(1, 4))):
        image = len(b.tensors[x].shape) == 4
        choices = ["fully_connected", "softmax", "reshape", "add_constant", "residual"]
        if image:
            choices += ["conv", "conv", "depthwise", "depthwise", "average_pool", "max_pool"]
        choice = str(rng.choice(choices))
        if choice == "conv":
            x = b.conv(x)
        elif choice == "depthwise":
            x = b.conv(x, depthwise=True)
        elif choice in ("average_pool", "max_pool"):
            x = b.pool(x, "AVERAGE_POOL_2D" if choice == "average_pool" else "MAX_POOL_2D")
        elif choice == "fully_connected":
            x = b.fully_connected(x)
        elif choice == "softmax":
            x = b.softmax(x)
        elif choice == "reshape":
            x = b.reshape(x)
        elif choice == "add_constant":
            x = b.add(x, None)
        else:  # x -> shape-keeping op -> ADD(x, op(x))
            kind = str(rng.choice(["conv", "depthwise", "average_pool", "max_pool"] if image else
                                  ["fully_connected"]))
            if kind in ("conv", "depthwise"):
                y = b.conv(x, depthwise=kind == "depthwise", keep_shape=True)
            elif kind == "fully_connected":
                y = b.fully_connected(x, keep_shape=True)
            else:
                y = b.pool(x, "AVERAGE_POOL_2D" if kind == "average_pool" else "MAX_POOL_2D", keep_shape=True)
            x = b.add(x, y)
    return ModelSpec(b.tensors, b.operators, [source], [x])
