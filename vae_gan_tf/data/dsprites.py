"""Images with known factors of variation: a dSprites-like grid rendered by the library, and the original
dSprites file, for the disentanglement metrics (NumPy only).

The factor grid is dSprites' (Matthey et al. 2017, the ``google-deepmind/dsprites-dataset`` README): shape
in {square, ellipse, heart}, scale = linspace(0.5, 1, 6), orientation = linspace(0, 2π, 40), x and y =
linspace(0, 1, 32) each: 3·6·40·32·32 = 737,280 binary images, one per grid point, in the grid's
row-major order (shape slowest, y fastest). The color factor of the original (one value) is left out, as
disentanglement_lib does.

``dsprites_like`` is **dSprites-like, not dSprites**: the original sprites were drawn with another tool,
so the pixels differ (sprite sizes, the heart's outline, the margins) and its scores must never be compared
with published dSprites numbers. It is rendered here, deterministically (pixel centres tested against the
shapes' implicit equations in float64, no randomness), in chunks of 4,096 images, and cached bit-packed
(``numpy.packbits``) on disk with its SHA-256 beside it: ``$VAE_GAN_TF_CACHE/dsprites_like_{32,64}.npy``
(default ``~/.cache/vae_gan_tf``), 94 MB at 32×32 and 377 MB at 64×64. A cache whose checksum does not
match is rendered again. docs/disentanglement.md gives the measured render time.

``dsprites:FILE`` reads the original ``dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz`` for users who have
it (``imgs`` (737280, 64, 64) uint8, ``latents_classes`` (737280, 6) int64; its pickled ``metadata`` is
not read).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

from vae_gan_tf.errors import UserError
from vae_gan_tf.runs.folder import atomic, cache_root, file_digest, write_text

FACTOR_NAMES = ("shape", "scale", "orientation", "pos_x", "pos_y")
FACTOR_SIZES = (3, 6, 40, 32, 32)
SHAPES = ("square", "ellipse", "heart")
IMAGE_SIZES = (32, 64)
CHUNK = 4096  # images rendered at once: about 60 MB of float64 temporaries at 64x64
TRAIN_IMAGES = 100_000  # the train split of data.source=dsprites_like: a fixed uniform draw from the grid
TRAIN_SEED = 24
# Geometry, in canvas coordinates [0, 1] x [0, 1] (x to the right, y downwards): the sprite's centre is
# MARGIN + (1 - 2 MARGIN) * position and its size RADIUS * scale, so that every sprite stays on the canvas.
MARGIN = 0.2
RADIUS = 0.14


def factor_values(classes: np.ndarray) -> np.ndarray:
    """Factor class indices (N, 5) -> their values: shape index, scale, orientation (radians), x, y."""
    classes = np.asarray(classes)
    grids = (np.arange(3.0), np.linspace(0.5, 1.0, 6), np.linspace(0.0, 2 * np.pi, 40),
             np.linspace(0.0, 1.0, 32), np.linspace(0.0, 1.0, 32))
    return np.stack([grid[classes[:, k]] for k, grid in enumerate(grids)], axis=1)


def _window(image_size: int) -> int:
    """Side of the square of pixels around a sprite's centre that holds every sprite (its farthest point,
    a square's corner, is 0.8·√2·RADIUS from the centre), with one pixel to spare on each side."""
    return int(np.ceil(2 * 0.8 * np.sqrt(2) * RADIUS * image_size)) + 3


def render(classes: np.ndarray, image_size: int) -> np.ndarray:
    """The binary images (N, S, S) uint8 of the factor class indices ``classes`` (N, 5): deterministic.

    Each pixel centre (j + ½)/S is taken into the sprite's own frame, u = R(−θ)(p − c)/(RADIUS·scale), and
    tested against the shape: square max(|u₁|, |u₂|) ≤ 0.8, ellipse u₁² + (u₂/0.5)² ≤ 1, heart
    (a² + b² − 1)³ − a²b³ ≤ 0 with a = 1.15 u₁, b = 0.15 − 1.15 u₂. Only the window around the centre that
    can hold the sprite is evaluated (``_window``), in float64."""
    classes = np.asarray(classes)
    values = factor_values(classes)
    n, side = len(classes), _window(image_size)
    cx = MARGIN + (1 - 2 * MARGIN) * values[:, 3]
    cy = MARGIN + (1 - 2 * MARGIN) * values[:, 4]
    left = np.clip(np.floor(cx * image_size).astype(np.int64) - side // 2, 0, image_size - side)
    top = np.clip(np.floor(cy * image_size).astype(np.int64) - side // 2, 0, image_size - side)
    offsets = np.arange(side)
    px = ((left[:, None] + offsets) + 0.5) / image_size  # (N, side): the window's pixel centres
    py = ((top[:, None] + offsets) + 0.5) / image_size
    dx = (px - cx[:, None])[:, None, :]  # (N, 1, side)
    dy = (py - cy[:, None])[:, :, None]  # (N, side, 1)
    angle, r = values[:, 2, None, None], RADIUS * values[:, 1, None, None]
    cos, sin = np.cos(angle), np.sin(angle)
    u = (cos * dx + sin * dy) / r
    v = (-sin * dx + cos * dy) / r
    inside = np.zeros((n, side, side), bool)
    for shape_index in range(3):
        rows = classes[:, 0] == shape_index
        if not rows.any():
            continue
        a, b = u[rows], v[rows]
        if shape_index == 0:
            inside[rows] = np.maximum(np.abs(a), np.abs(b)) <= 0.8
        elif shape_index == 1:
            inside[rows] = a * a + 4.0 * b * b <= 1.0
        else:
            ha, hb = 1.15 * a, 0.15 - 1.15 * b  # the heart, point down in image coordinates, centred
            inside[rows] = (ha * ha + hb * hb - 1) ** 3 - ha * ha * hb ** 3 <= 0
    images = np.zeros((n, image_size, image_size), np.uint8)
    rows_index = (top[:, None] + offsets)[:, :, None]
    cols_index = (left[:, None] + offsets)[:, None, :]
    images[np.arange(n)[:, None, None], rows_index, cols_index] = inside
    return images


def grid_classes(indices: np.ndarray | None = None, sizes=FACTOR_SIZES) -> np.ndarray:
    """The factor class indices (N, 5) of grid points ``indices`` (row-major; None: all of them)."""
    total = int(np.prod(sizes))
    indices = np.arange(total) if indices is None else np.asarray(indices)
    return np.stack(np.unravel_index(indices, sizes), axis=1).astype(np.int64)


def grid_indices(classes: np.ndarray, sizes=FACTOR_SIZES) -> np.ndarray:
    """The row-major grid index of each row of factor classes (N, 5)."""
    return np.ravel_multi_index(tuple(np.asarray(classes).T), sizes)


def cache_dir() -> Path:
    return cache_root()


def render_packed(image_size: int, sizes=FACTOR_SIZES, progress: bool = False) -> np.ndarray:
    """Every grid point's image, bit-packed: (N, S·S/8) uint8, rendered ``CHUNK`` images at a time."""
    total = int(np.prod(sizes))
    packed = np.empty((total, image_size * image_size // 8), np.uint8)
    start = time.perf_counter()
    for first in range(0, total, CHUNK):
        rows = np.arange(first, min(first + CHUNK, total))
        packed[rows] = np.packbits(render(grid_classes(rows, sizes), image_size).reshape(len(rows), -1), axis=1)
        if progress and (first // CHUNK) % 20 == 0:
            print(f"\rrendering dsprites_like {image_size}x{image_size}: {first + len(rows)}/{total} "
                  f"({time.perf_counter() - start:.0f} s)", end="", file=sys.stderr, flush=True)
    if progress:
        print(file=sys.stderr)
    return packed


def packed_grid(image_size: int, sizes=FACTOR_SIZES, directory: Path | None = None) -> np.ndarray:
    """The cached bit-packed grid (memory-mapped, read-only), rendered and written first when the cache is
    missing or its SHA-256 does not match."""
    if image_size not in IMAGE_SIZES:
        raise UserError(f"data.source dsprites_like is rendered at 32 or 64 pixels; set data.image_size to "
                        f"32 or 64, not {image_size}")
    directory = Path(directory) if directory is not None else cache_dir()
    suffix = "" if tuple(sizes) == FACTOR_SIZES else "_" + "x".join(map(str, sizes))
    path = directory / f"dsprites_like_{image_size}{suffix}.npy"
    checksum = path.with_suffix(".sha256")
    if path.is_file() and checksum.is_file():
        if file_digest(path, "sha256") == checksum.read_text().split()[0]:
            return np.load(path, mmap_mode="r")
        print(f"{path}: checksum mismatch, rendering it again", file=sys.stderr)
    packed = render_packed(image_size, sizes, progress=True)
    directory.mkdir(parents=True, exist_ok=True)
    with atomic(path) as incoming:
        with open(incoming, "wb") as fh:
            np.save(fh, packed)
        digest = file_digest(incoming, "sha256")
    write_text(checksum, f"{digest}  {path.name}\n")
    return np.load(path, mmap_mode="r")


def unpack(packed_rows: np.ndarray, image_size: int) -> np.ndarray:
    """Bit-packed rows -> float32 images (N, S, S, 1) in {0, 1}."""
    bits = np.unpackbits(np.asarray(packed_rows), axis=1, count=image_size * image_size)
    return bits.reshape(-1, image_size, image_size, 1).astype(np.float32)


class FactorGrid:
    """A ground-truth data set: images of any factor classes, and uniform draws of factors (the
    ``GroundTruthData`` of disentanglement_lib). ``images`` (N, S, S) uint8 or bit-packed rows, one per
    grid point in row-major order."""

    def __init__(self, rows: np.ndarray, image_size: int, sizes=FACTOR_SIZES, names=FACTOR_NAMES,
                 packed: bool = True):
        self.rows, self.image_size, self.packed = rows, image_size, packed
        self.factor_sizes, self.factor_names = tuple(sizes), tuple(names)

    def sample_factors(self, n: int, rng: np.random.Generator) -> np.ndarray:
        return np.stack([rng.integers(0, size, n) for size in self.factor_sizes], axis=1)

    def images(self, classes: np.ndarray) -> np.ndarray:
        """float32 (N, S, S, 1) images in [0, 1] of the factor classes (N, 5)."""
        index = grid_indices(classes, self.factor_sizes)
        order = np.argsort(index)  # sorted reads from a memory map
        picked = np.empty((len(index),) + self.rows.shape[1:], self.rows.dtype)
        picked[order] = self.rows[index[order]]
        if self.packed:
            return unpack(picked, self.image_size)
        images = picked.reshape(len(index), self.image_size, self.image_size, 1).astype(np.float32)
        return images / 255.0 if images.max(initial=0.0) > 1 else images  # dSprites stores 0/1


def dsprites_like(image_size: int | None) -> FactorGrid:
    return FactorGrid(packed_grid(image_size or 64), image_size or 64)


def dsprites_file(file: str) -> FactorGrid:
    """The original dSprites ``.npz`` (module docstring) as a FactorGrid (its images kept uint8)."""
    path = Path(file).expanduser()
    if not path.is_file():
        raise UserError(f"data.source dsprites:{file}: file does not exist")
    try:
        archive = np.load(path, allow_pickle=False)
        with archive:
            missing = {"imgs", "latents_classes"} - set(archive.files)
            if missing:
                raise UserError(f"data.source dsprites:{file}: no {', '.join(sorted(missing))} array; expected "
                                "the dsprites_ndarray_*.npz of google-deepmind/dsprites-dataset")
            images, classes = archive["imgs"], archive["latents_classes"]
    except UserError:
        raise
    except Exception as err:
        raise UserError(f"data.source dsprites:{file}: not a readable .npz file ({type(err).__name__})") from None
    if images.ndim != 3 or images.shape[1] != images.shape[2] or classes.shape != (len(images), 6):
        raise UserError(f"data.source dsprites:{file}: imgs {images.shape} and latents_classes "
                        f"{classes.shape} are not (N, S, S) and (N, 6)")
    classes = classes[:, 1:].astype(np.int64)  # color has one value
    sizes = tuple(int(c) + 1 for c in classes.max(axis=0))
    if int(np.prod(sizes)) != len(images) or not np.array_equal(grid_indices(classes, sizes), np.arange(len(images))):
        raise UserError(f"data.source dsprites:{file}: the images are not the full factor grid in row-major "
                        "order (as in the original file)")
    return FactorGrid(images.reshape(len(images), -1), images.shape[1], sizes, packed=False)


def factor_grid(source: str, image_size: int | None = None) -> FactorGrid:
    """The FactorGrid of a source that has factors; a UserError for any other source."""
    if source == "dsprites_like":
        return dsprites_like(image_size)
    if source.startswith("dsprites:"):
        return dsprites_file(source[len("dsprites:"):])
    raise UserError(f"data source {source!r} has no known factors of variation; the disentanglement metrics "
                    "need data.source=dsprites_like (or dsprites:FILE)")


def train_arrays(grid: FactorGrid, n: int = TRAIN_IMAGES, seed: int = TRAIN_SEED):
    """(images float32 (n, S, S, 1), factor classes (n, 5)): a fixed uniform draw without replacement from
    the grid (all of it when ``n`` is larger), the train split of the source (memory: n·S²·4 bytes)."""
    total = int(np.prod(grid.factor_sizes))
    index = np.arange(total) if n >= total else np.sort(np.random.default_rng(seed).choice(total, n, replace=False))
    classes = grid_classes(index, grid.factor_sizes)
    return grid.images(classes), classes
