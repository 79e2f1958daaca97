"""The FID Inception loader on a tiny archive of the real file's layout, written here: the restricted
unpickler reads it, the Keras port matches a plain tf.nn forward pass, the converted weights are cached
with their checksum, and a wrong checksum or a foreign object is one clear error."""

import hashlib
import importlib.util
import io
import pickle
import sys
import types
import zipfile
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pytest

from vae_gan_tf.errors import UserError

ROOT = Path(__file__).resolve().parents[2]


def fake_modules(monkeypatch) -> dict:
    """Classes and functions named as in TorchScript's data.pkl, in stand-in modules, so pickle writes
    the same globals (``__torch__.inceptionv3 Conv2dLayer``, ``torch._utils _rebuild_tensor_v2``, ...)."""
    made = {}

    def module(name):
        parts = name.split(".")
        for depth in range(1, len(parts) + 1):  # pickle imports every parent package first
            prefix = ".".join(parts[:depth])
            if not getattr(sys.modules.get(prefix), "_fake", False):
                fake = types.ModuleType(prefix)
                fake._fake = True
                monkeypatch.setitem(sys.modules, prefix, fake)
        return sys.modules[name]

    def define(module_name, name, obj):
        obj.__module__, obj.__qualname__ = module_name, name
        setattr(module(module_name), name, obj)
        made[f"{module_name}.{name}"] = obj
        return obj

    for kind in ("Sequential", "Conv2dLayer", "InceptionA", "InceptionB", "InceptionC", "InceptionD",
                 "InceptionE", "WrapNet", "InceptionV3"):
        module_name = "__torch__.wrap_net" if kind == "WrapNet" else (
            "__torch__.torch.nn.modules.container" if kind == "Sequential" else "__torch__.inceptionv3")
        define(module_name, kind, type(kind, (), {}))
    define("__torch__.inceptionv3.___torch_mangle_7", "InceptionE", type("InceptionE", (), {}))
    for module_name, kind in (("__torch__.torch.nn.modules.pooling", "MaxPool2d"),
                              ("__torch__.torch.nn.modules.pooling", "AvgPool2d"),
                              ("__torch__.torch.nn.modules.pooling.___torch_mangle_6", "MaxPool2d"),
                              ("__torch__.torch.nn.modules.pooling.___torch_mangle_8", "AvgPool2d")):
        define(module_name, kind, type(kind, (), {}))
    define("torch", "FloatStorage", type("FloatStorage", (), {}))
    define("torch._utils", "_rebuild_tensor_v2", lambda *a: None)
    define("torch.jit._pickle", "build_intlist", lambda *a: None)
    return made


def write_tiny_archive(path: Path, monkeypatch, seed: int = 0) -> Path:
    """A zip like default_1.pt: tiny/data.pkl (stem, one block of each kind, both pool kinds in E) and
    tiny/data/<key> raw float32, with 2-4 channels so the 299x299 network costs little."""
    classes = fake_modules(monkeypatch)
    rng = np.random.default_rng(seed)
    storages = []

    class Tensor:
        def __init__(self, array):
            self.array = np.ascontiguousarray(array, np.float32)

        def __reduce__(self):
            storages.append(self.array)
            pid = ("storage", classes["torch.FloatStorage"], str(len(storages) - 1), "cpu", self.array.size)
            strides = tuple(s // 4 for s in self.array.strides)
            return classes["torch._utils._rebuild_tensor_v2"], (Storage(pid), 0, self.array.shape, strides,
                                                                False, OrderedDict())

    class Storage:
        def __init__(self, pid):
            self.pid = pid

    class IntList:
        def __init__(self, values):
            self.values = values

        def __reduce__(self):
            return classes["torch.jit._pickle.build_intlist"], (self.values,)

    def obj(kind, **state):
        made = classes[kind].__new__(classes[kind])
        made.__dict__.update({"training": False, **state})
        return made

    channels = [3]

    def conv(out, kernel=(1, 1), stride=1, padding=0):
        weight = Tensor(rng.normal(0, 0.5, (out, channels[0], *kernel)))
        made = obj("__torch__.inceptionv3.Conv2dLayer", weight=weight,
                   beta=Tensor(rng.normal(0, 0.1, out)), mean=Tensor(rng.normal(0, 0.1, out)),
                   var=Tensor(rng.uniform(0.5, 1.5, out)), stride=stride,
                   padding=IntList(list(padding)) if isinstance(padding, tuple) else padding)
        return made

    def seq(**parts):
        return obj("__torch__.torch.nn.modules.container.Sequential", **parts)

    pool = {"max_s2": "__torch__.torch.nn.modules.pooling.MaxPool2d",
            "avg_s1": "__torch__.torch.nn.modules.pooling.AvgPool2d",
            "max_s1": "__torch__.torch.nn.modules.pooling.___torch_mangle_6.MaxPool2d",
            "avg_8": "__torch__.torch.nn.modules.pooling.___torch_mangle_8.AvgPool2d"}

    def chain(*specs):  # convs in sequence, each reading the previous one's channels
        start, made = channels[0], []
        for spec in specs:
            made.append(conv(*spec))
            channels[0] = spec[0]
        channels[0] = start
        return made, specs[-1][0]

    def block(kind, branches, cls=None):
        start, parts, total = channels[0], {}, 0
        for name, specs in branches.items():
            channels[0] = start
            if specs == "pool":
                parts[name] = obj(pool["max_s2"])
                total += start
                continue
            if specs[0] == "avg":
                channels[0] = start
                convs, out = chain(*specs[1:])
                parts[name] = seq(pool=obj(pool["avg_s1"]), conv=convs[0])
            else:
                convs, out = chain(*specs)
                parts[name] = convs[0] if len(convs) == 1 else seq(**{
                    ("conv" if i == 0 else f"conv_{i}"): c for i, c in enumerate(convs)})
            total += out
        channels[0] = total
        return obj(cls or f"__torch__.inceptionv3.{kind}", **parts)

    def inception_e(pool_kind, cls):
        start = channels[0]
        made = {"conv": conv(2)}
        made["tower_conv"] = conv(2)
        channels[0] = 2
        made["tower_mixed_conv"] = conv(2, (1, 3), 1, (0, 1))
        made["tower_mixed_conv_1"] = conv(2, (3, 1), 1, (1, 0))
        channels[0] = start
        made["tower_1_conv"] = conv(2)
        channels[0] = 2
        made["tower_1_conv_1"] = conv(2, (3, 3), 1, 1)
        made["tower_1_mixed_conv"] = conv(2, (1, 3), 1, (0, 1))
        made["tower_1_mixed_conv_1"] = conv(2, (3, 1), 1, (1, 0))
        made["tower_2_pool"] = obj(pool[pool_kind])
        channels[0] = start
        made["tower_2_conv"] = conv(3)
        channels[0] = 2 * 5 + 3
        return obj(cls, **made)

    stem = {}
    for name, spec in (("conv", (2, (3, 3), 2)), ("conv_1", (2, (3, 3))), ("conv_2", (3, (3, 3), 1, 1))):
        stem[name] = conv(*spec)
        channels[0] = spec[0]
    stem["pool0"] = obj(pool["max_s2"])
    for name, spec in (("conv_3", (2,)), ("conv_4", (3, (3, 3)))):
        stem[name] = conv(*spec)
        channels[0] = spec[0]
    stem["pool1"] = obj(pool["max_s2"])
    stem["mixed"] = block("InceptionA", {"conv": [(2,)], "tower": [(2,), (2, (5, 5), 1, 2)],
                                         "tower_1": [(2,), (2, (3, 3), 1, 1), (2, (3, 3), 1, 1)],
                                         "tower_2": ["avg", (2,)]})
    stem["mixed_3"] = block("InceptionB", {"conv": [(3, (3, 3), 2)],
                                           "tower": [(2,), (2, (3, 3), 1, 1), (2, (3, 3), 2)],
                                           "pool": "pool"})
    stem["mixed_4"] = block("InceptionC", {"conv": [(2,)],
                                           "tower": [(2,), (2, (1, 7), 1, (0, 3)), (2, (7, 1), 1, (3, 0))],
                                           "tower_1": [(2,), (2, (7, 1), 1, (3, 0)), (2, (1, 7), 1, (0, 3))],
                                           "tower_2": ["avg", (2,)]})
    stem["mixed_8"] = block("InceptionD", {"tower": [(2,), (3, (3, 3), 2)],
                                           "tower_1": [(2,), (2, (1, 7), 1, (0, 3)), (2, (3, 3), 2)],
                                           "pool": "pool"})
    stem["mixed_9"] = inception_e("avg_s1", "__torch__.inceptionv3.InceptionE")
    stem["mixed_10"] = inception_e("max_s1", "__torch__.inceptionv3.___torch_mangle_7.InceptionE")
    stem["pool2"] = obj(pool["avg_8"])
    layers = obj("__torch__.torch.nn.modules.container.Sequential", **stem)
    root = obj("__torch__.wrap_net.WrapNet", net=obj("__torch__.inceptionv3.InceptionV3", layers=layers))

    class Writer(pickle.Pickler):
        def persistent_id(self, value):
            return value.pid if isinstance(value, Storage) else None

    buffer = io.BytesIO()
    Writer(buffer, protocol=2).dump(root)
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("tiny/data.pkl", buffer.getvalue())
        for key, array in enumerate(storages):
            archive.writestr(f"tiny/data/{key}", array.astype("<f4").tobytes())
        archive.writestr("tiny/version", "3\n")
    return path


@pytest.fixture()
def tiny_archive(tmp_path, monkeypatch):
    monkeypatch.setenv("VAE_GAN_TF_CACHE", str(tmp_path / "cache"))
    path = write_tiny_archive(tmp_path / "tiny.pt", monkeypatch)
    monkeypatch.undo()  # the stand-in torch modules are gone before anything is read
    monkeypatch.setenv("VAE_GAN_TF_CACHE", str(tmp_path / "cache"))
    return path, hashlib.sha1(path.read_bytes()).hexdigest()


def plain_forward():
    path = ROOT / "benchmarks" / "fid_inception_check.py"
    spec = importlib.util.spec_from_file_location("fid_inception_check", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.plain_forward


def test_loader_reads_the_tests_archive_matches_plain_tf_and_caches(tiny_archive, tmp_path):
    import tensorflow as tf

    from vae_gan_tf.evaluation import fid_inception as fi

    path, sha1 = tiny_archive
    assert "torch" not in sys.modules or not getattr(sys.modules["torch"], "_fake", False)
    layers = fi.read_archive(path, sha1)
    spec, arrays = fi.network_spec(layers), fi.conv_arrays(layers)
    model = fi.load_fid_inception(path, sha1)
    assert len(arrays) == 47 and model.count_params() == sum(sum(a.size for a in v) for v in arrays.values())
    images = np.random.default_rng(0).random((2, 28, 28, 1)).astype(np.float32)
    inputs = fi.fid_inception_input(images)
    assert inputs.shape == (2, 299, 299, 3) and float(tf.reduce_min(inputs)) >= -1.0
    keras_out = model(inputs, training=False).numpy()
    plain = tf.reshape(plain_forward()(inputs, spec, arrays), [2, -1]).numpy()
    assert keras_out.shape == (2, 13) and np.abs(keras_out).max() > 1e-3
    np.testing.assert_allclose(keras_out, plain, rtol=1e-4, atol=1e-5)
    path.unlink()  # now served from the cache
    cached = fi.load_fid_inception(None, sha1)
    np.testing.assert_array_equal(cached(inputs, training=False).numpy(), keras_out)
    weights = fi.cache_dir() / f"{sha1}.weights.h5"
    weights.write_bytes(weights.read_bytes()[:-1] + b"x")
    with pytest.raises(UserError, match="do not match their checksum"):
        fi.load_fid_inception(None, sha1)


def test_loader_refuses_a_wrong_checksum_and_foreign_objects(tiny_archive, tmp_path):
    from vae_gan_tf.evaluation import fid_inception as fi

    path, sha1 = tiny_archive
    with pytest.raises(UserError, match=r"SHA-1 .*expected a16e4d89.*VAE_GAN_TF_FID_WEIGHTS") as caught:
        fi.read_archive(path)
    assert "\n" not in str(caught.value)
    evil = tmp_path / "evil.pt"
    with zipfile.ZipFile(evil, "w") as archive:
        archive.writestr("x/data.pkl", b"\x80\x02cos\nsystem\nX\x04\x00\x00\x00trueq\x00\x85R.")
    with pytest.raises(UserError, match="unexpected object os.system"):
        fi.read_archive(evil, hashlib.sha1(evil.read_bytes()).hexdigest())
    assert not (fi.cache_dir() / f"{sha1}.weights.h5").exists()


@pytest.mark.parametrize("offset, size, stride, length, fine", [
    (0, [2, 3], [3, 1], 6, True), (2, [2, 2], [2, 1], 6, True), (0, [0, 5], [5, 1], 0, True),
    (1, [2, 3], [3, 1], 6, False), (0, [2, 3], [4, 1], 6, False), (0, [10 ** 12], [1], 6, False),
    (-1, [2], [1], 6, False), (0, [2], [-1], 6, False), (0, [2, 3], [1], 6, False), (7, [0], [1], 6, False),
    (0, [2.5], [1], 6, False), (0, "ab", [1], 6, False),
])
def test_every_tensor_is_checked_against_its_storage_before_a_read(offset, size, stride, length, fine):
    """Issue 25: a crafted size, offset or stride is refused instead of reading out of bounds."""
    from vae_gan_tf.evaluation import fid_inception as fi

    storage = np.arange(length, dtype="<f4")
    if fine:
        fi.ArchiveUnpickler.rebuild_tensor(storage, offset, size, stride)
    else:
        with pytest.raises(UserError, match="FID weights file"):
            fi.ArchiveUnpickler.rebuild_tensor(storage, offset, size, stride)


def test_a_storage_whose_length_differs_from_the_pickle_is_refused(tmp_path):
    from vae_gan_tf.evaluation import fid_inception as fi

    path = tmp_path / "a.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("x/data/0", np.zeros(5, "<f4").tobytes() + b"\x00")
    unpickler = fi.ArchiveUnpickler(io.BytesIO(b""), zipfile.ZipFile(path), "x/")
    with pytest.raises(UserError, match="holds 21 bytes, not the 20"):
        unpickler.persistent_load(("storage", fi._Storage, "0", "cpu", 5))
    with pytest.raises(UserError, match="no storage"):
        unpickler.persistent_load(("storage", fi._Storage, "9", "cpu", 5))


def test_fast_network_matches_plain_tf_on_every_block(tiny_archive):
    """FidNetwork (BatchNorm folded, a block's 1x1 convs merged, an average pool moved after its 1x1 conv,
    one traced function) gives the plain tf.nn forward pass's features within 1e-4, for grey and RGB input
    and for batches of any size through one trace."""
    import tensorflow as tf

    from vae_gan_tf.evaluation import fid_inception as fi

    path, sha1 = tiny_archive
    layers = fi.read_archive(path, sha1)
    spec, arrays = fi.network_spec(layers), fi.conv_arrays(layers)
    model, loaded_spec = fi.load_fid_inception(path, sha1, with_spec=True)
    assert loaded_spec == spec
    network = fi.FidNetwork(model, spec)
    rng = np.random.default_rng(1)
    for images in (rng.random((3, 28, 28, 1)), rng.random((2, 32, 32, 3)), rng.random((1, 28, 28, 1))):
        images = images.astype(np.float32)
        plain = tf.reshape(plain_forward()(fi.fid_inception_input(images), spec, arrays), [len(images), -1])
        fast = network(images).numpy()
        assert fast.shape == plain.shape and np.abs(plain).max() > 1e-3
        np.testing.assert_allclose(fast, plain.numpy(), rtol=1e-4, atol=1e-4)
    assert len(network.functions) == 2  # one trace per channel count, whatever the batch
    assert any(key.endswith("__merged_1x1") for key in network.folded)
    assert fi.conv_macs(spec) > 0
