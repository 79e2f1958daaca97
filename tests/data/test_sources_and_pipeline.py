"""Each data source that works offline, the offline message of the download sources, and the pipeline."""

import gzip

import numpy as np
import pytest

from vae_gan_tf.config import load_config
from vae_gan_tf.data import sources
from vae_gan_tf.data.sources import IDX_IMAGES_MAGIC, IDX_LABELS_MAGIC, load_source
from vae_gan_tf.errors import UserError


def write_idx(path, array, magic):
    header = magic.to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in array.shape)
    data = header + array.astype(np.uint8).tobytes()
    if str(path).endswith(".gz"):
        with gzip.open(path, "wb") as fh:
            fh.write(data)
    else:
        path.write_bytes(data)


def test_mnist5k_is_5000_real_digits_in_unit_range():
    arrays = load_source("mnist5k")
    assert arrays.images.shape == (5000, 28, 28, 1) and arrays.images.dtype == np.float32
    assert arrays.images.min() == 0.0 and arrays.images.max() == 1.0
    assert np.bincount(arrays.labels).tolist() == [500] * 10


def test_digits_are_8x8():
    arrays = load_source("digits")
    assert arrays.images.shape == (1797, 8, 8, 1) and 0.0 <= arrays.images.min() and arrays.images.max() == 1.0


def test_idx_files_gzipped_and_plain(tmp_path):
    images = np.random.default_rng(0).integers(0, 256, (7, 5, 4), dtype=np.uint8)
    write_idx(tmp_path / "train-images-idx3-ubyte.gz", images, IDX_IMAGES_MAGIC)
    write_idx(tmp_path / "train-labels-idx1-ubyte.gz", np.arange(7), IDX_LABELS_MAGIC)
    write_idx(tmp_path / "t10k-images-idx3-ubyte", images[:3], IDX_IMAGES_MAGIC)
    train = load_source(f"idx:{tmp_path}", "train")
    np.testing.assert_allclose(train.images[..., 0], images / 255.0, rtol=1e-6)
    assert train.labels.tolist() == list(range(7))
    test = load_source(f"idx:{tmp_path}", "test")
    assert test.images.shape == (3, 5, 4, 1) and test.labels is None


def test_idx_errors_are_clear(tmp_path):
    with pytest.raises(UserError, match="does not exist"):
        load_source(f"idx:{tmp_path / 'missing'}")
    with pytest.raises(UserError, match="no train-images-idx3-ubyte"):
        load_source(f"idx:{tmp_path}")
    write_idx(tmp_path / "train-images-idx3-ubyte.gz", np.zeros((2, 3, 3)), IDX_LABELS_MAGIC)
    with pytest.raises(UserError, match="magic number 2049, expected 2051"):
        load_source(f"idx:{tmp_path}")
    (tmp_path / "train-images-idx3-ubyte.gz").write_bytes(b"not gzip at all")
    with pytest.raises(UserError, match="cannot read IDX file"):
        load_source(f"idx:{tmp_path}")
    damaged = bytearray(gzip.compress(b"\x00\x00\x08\x03" + bytes(200)))
    damaged[20:40] = b"\xff" * 20  # a corrupt deflate stream (zlib.error)
    (tmp_path / "train-images-idx3-ubyte.gz").write_bytes(bytes(damaged))
    with pytest.raises(UserError, match="cannot read IDX file"):
        load_source(f"idx:{tmp_path}")


def test_npz_uint8_and_float(tmp_path):
    x = np.random.default_rng(1).integers(0, 256, (6, 4, 4, 3), dtype=np.uint8)
    np.savez(tmp_path / "a.npz", x_train=x, y_train=np.arange(6))
    arrays = load_source(f"npz:{tmp_path / 'a.npz'}")
    assert arrays.images.shape == (6, 4, 4, 3) and arrays.labels.tolist() == list(range(6))
    np.savez(tmp_path / "b.npz", images=x / 255.0)
    np.testing.assert_allclose(load_source(f"npz:{tmp_path / 'b.npz'}").images, x / 255.0, rtol=1e-6)
    np.savez(tmp_path / "c.npz", other=x)
    with pytest.raises(UserError, match="no array named x, images or x_train"):
        load_source(f"npz:{tmp_path / 'c.npz'}")
    np.save(tmp_path / "e.npy", x)
    with pytest.raises(UserError, match="not a .npz archive"):
        load_source(f"npz:{tmp_path / 'e.npy'}")
    np.savez(tmp_path / "d.npz", x=np.full((2, 3, 3), np.nan))
    with pytest.raises(UserError, match="NaN"):
        load_source(f"npz:{tmp_path / 'd.npz'}")


def test_folder_of_images_with_class_subfolders(tmp_path):
    from PIL import Image

    rng = np.random.default_rng(2)
    for label in ("cats", "dogs"):
        (tmp_path / label).mkdir()
        for i in range(3):
            Image.fromarray(rng.integers(0, 256, (10, 12, 3), dtype=np.uint8)).save(tmp_path / label / f"{i}.png")
    arrays = load_source(f"folder:{tmp_path}", image_size=8)
    assert arrays.images.shape == (6, 8, 8, 3) and sorted(arrays.labels.tolist()) == [0, 0, 0, 1, 1, 1]
    assert 0.0 <= arrays.images.min() and arrays.images.max() <= 1.0
    with pytest.raises(UserError, match="needs data.image_size"):
        load_source(f"folder:{tmp_path}")


@pytest.mark.parametrize("name", ["mnist", "fashion_mnist", "cifar10"])
def test_download_failure_is_one_line_naming_the_offline_sources(monkeypatch, name):
    import keras

    def failing_get_file(*args, **kwargs):  # what keras.utils.get_file raises when offline
        raise Exception("URL fetch failure on https://storage.googleapis.com/...: None -- "
                        "[Errno -3] Temporary failure in name resolution")

    module = __import__(f"keras.src.datasets.{name}", fromlist=["get_file"])
    monkeypatch.setattr(module, "get_file", failing_get_file)
    assert getattr(keras.datasets, name).load_data is not None
    with pytest.raises(UserError) as info:
        load_source(name)
    message = str(info.value)
    assert "\n" not in message and "mnist5k" in message and "idx:DIR" in message and "npz:FILE" in message


def test_pipeline_batches_scales_binarizes_and_splits():
    from vae_gan_tf.data.pipeline import make_datasets, split_validation

    config = load_config(None, ["data.source=digits", "model.conv_filters=[8]", "train.batch_size=50",
                                "data.binarize=true", "train.steps_per_epoch=3"])
    bundle = make_datasets(config)
    batch = next(iter(bundle.train)).numpy()
    assert batch.shape == (50, 8, 8, 1) and set(np.unique(batch)) <= {0.0, 1.0}
    assert bundle.steps_per_epoch == 3
    val_batches = [b.shape[0] for b in bundle.validation]
    assert all(n == 50 for n in val_batches)  # drop_remainder: no ragged batch for any replica
    assert set(np.unique(bundle.validation_images)) <= {0.0, 1.0}
    train_idx, val_idx = split_validation(1797, 0.1)
    assert len(set(train_idx) & set(val_idx)) == 0 and len(train_idx) + len(val_idx) == 1797
    assert np.array_equal(split_validation(1797, 0.1)[1], val_idx)  # the same split every run

    symmetric = make_datasets(load_config(None, ["data.source=digits", "model.conv_filters=[8]",
                                                 "data.scale=symmetric", "model.likelihood=gaussian"]))
    assert symmetric.train_images.min() == -1.0 and symmetric.train_images.max() == 1.0


def test_resize_and_channel_conversion():
    from vae_gan_tf.data.pipeline import make_datasets

    bundle = make_datasets(load_config(None, ["data.source=digits", "data.image_size=16", "data.channels=3",
                                              "model.conv_filters=[8, 16]"]))
    assert bundle.image_shape == (16, 16, 3)
    assert 0.0 <= bundle.train_images.min() and bundle.train_images.max() <= 1.0


def test_too_few_images_for_the_batch():
    from vae_gan_tf.data.pipeline import make_datasets

    with pytest.raises(UserError, match="fewer than the 4096 one step needs"):
        make_datasets(load_config(None, ["data.source=digits", "model.conv_filters=[8]", "train.batch_size=4096"]))


def test_sources_module_does_not_need_tensorflow_for_numpy_sources():
    assert "tensorflow" not in sources.__dict__
