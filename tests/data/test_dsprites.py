"""The dsprites_like source and the dsprites:FILE loader (data/dsprites.py)."""

import numpy as np
import pytest

from vae_gan_tf.data import dsprites
from vae_gan_tf.data.sources import load_source
from vae_gan_tf.errors import UserError

SMALL = (3, 2, 4, 3, 3)  # a small factor grid: 216 images


def test_render_is_deterministic_binary_and_follows_its_factors():
    classes = dsprites.grid_classes(np.arange(0, 737280, 4099))
    first, second = dsprites.render(classes, 32), dsprites.render(classes, 32)
    assert first.dtype == np.uint8 and set(np.unique(first)) <= {0, 1}
    assert np.array_equal(first, second)
    assert (first.reshape(len(first), -1).sum(axis=1) > 0).all()  # every sprite is drawn
    # x moves the sprite right, y moves it down; scale makes it larger
    base = np.array([[0, 5, 0, 0, 0]])
    mass = lambda c: dsprites.render(np.array(c), 64)[0]
    cols = lambda im: (im.sum(axis=0) * np.arange(64)).sum() / im.sum()
    rows = lambda im: (im.sum(axis=1) * np.arange(64)).sum() / im.sum()
    assert cols(mass([[0, 5, 0, 31, 0]])) > cols(mass(base)) + 30
    assert rows(mass([[0, 5, 0, 0, 31]])) > rows(mass(base)) + 30
    assert mass([[0, 5, 0, 9, 9]]).sum() > 3 * mass([[0, 0, 0, 9, 9]]).sum()
    assert len({mass([[s, 5, 3, 9, 9]]).tobytes() for s in range(3)}) == 3  # three different shapes


def test_windowed_render_matches_the_whole_canvas():
    classes = dsprites.grid_classes(np.arange(0, 737280, 7919))
    for size in (32, 64):
        values = dsprites.factor_values(classes)
        centres = (np.arange(size) + 0.5) / size
        py, px = np.meshgrid(centres, centres, indexing="ij")
        dx = px[None] - (0.2 + 0.6 * values[:, 3, None, None])
        dy = py[None] - (0.2 + 0.6 * values[:, 4, None, None])
        r = 0.14 * values[:, 1, None, None]
        a = values[:, 2, None, None]
        u, v = (np.cos(a) * dx + np.sin(a) * dy) / r, (-np.sin(a) * dx + np.cos(a) * dy) / r
        shape = classes[:, 0, None, None]
        ha, hb = 1.15 * u, 0.15 - 1.15 * v
        full = np.where(shape == 0, np.maximum(abs(u), abs(v)) <= 0.8,
                        np.where(shape == 1, u * u + 4 * v * v <= 1, (ha**2 + hb**2 - 1)**3 - ha**2 * hb**3 <= 0))
        assert np.array_equal(dsprites.render(classes, size), full.astype(np.uint8))


def test_cache_is_written_with_its_checksum_reused_and_rebuilt_when_corrupt(tmp_path):
    packed = dsprites.packed_grid(32, SMALL, tmp_path)
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == ["dsprites_like_32_3x2x4x3x3.npy", "dsprites_like_32_3x2x4x3x3.sha256"]
    assert packed.shape == (216, 128)
    grid = dsprites.FactorGrid(packed, 32, SMALL)
    classes = grid.sample_factors(20, np.random.default_rng(0))
    images = grid.images(classes)
    assert images.shape == (20, 32, 32, 1) and images.dtype == np.float32
    assert np.array_equal(images[..., 0], dsprites.render(classes, 32))
    original = np.array(packed)  # a copy: the memory map would see the corruption below
    del packed
    path = tmp_path / files[0]
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))
    again = dsprites.packed_grid(32, SMALL, tmp_path)
    assert np.array_equal(np.asarray(again), original)


def test_image_size_must_be_32_or_64(tmp_path):
    with pytest.raises(UserError, match="32 or 64"):
        dsprites.packed_grid(48, SMALL, tmp_path)
    from vae_gan_tf.config import build_config

    with pytest.raises(UserError, match="32 or 64"):
        build_config({"data": {"source": "dsprites_like", "image_size": 28}})


def synthetic_dsprites(path, size=8):
    """A tiny file of the original's layout: imgs (N, S, S) uint8 0/1 and latents_classes (N, 6)."""
    sizes = (1, 3, 2, 2, 2, 2)
    classes = np.stack(np.unravel_index(np.arange(int(np.prod(sizes))), sizes), axis=1).astype(np.int64)
    imgs = np.zeros((len(classes), size, size), np.uint8)
    imgs[np.arange(len(classes)), classes[:, 4] * 4, classes[:, 5] * 4] = 1
    np.savez(path, imgs=imgs, latents_classes=classes, latents_values=classes.astype(np.float64))
    return imgs, classes


def test_original_dsprites_file_loads_with_its_factors(tmp_path):
    imgs, classes = synthetic_dsprites(tmp_path / "d.npz")
    grid = dsprites.factor_grid(f"dsprites:{tmp_path / 'd.npz'}")
    assert grid.factor_sizes == (3, 2, 2, 2, 2) and grid.image_size == 8
    picked = grid.images(classes[[5, 17], 1:])
    assert np.array_equal(picked[..., 0], imgs[[5, 17]].astype(np.float32))
    arrays = load_source(f"dsprites:{tmp_path / 'd.npz'}")
    assert arrays.images.shape == (48, 8, 8, 1) and arrays.factors.shape == (48, 5)
    index = dsprites.grid_indices(arrays.factors, grid.factor_sizes)
    assert np.array_equal(arrays.images[..., 0], imgs[index])


def test_original_dsprites_file_errors_are_one_line(tmp_path):
    np.savez(tmp_path / "bad.npz", imgs=np.zeros((4, 8, 8), np.uint8))
    with pytest.raises(UserError, match="latents_classes"):
        dsprites.factor_grid(f"dsprites:{tmp_path / 'bad.npz'}")
    with pytest.raises(UserError, match="does not exist"):
        dsprites.factor_grid(f"dsprites:{tmp_path / 'none.npz'}")
    with pytest.raises(UserError, match="no known factors"):
        dsprites.factor_grid("mnist5k")
