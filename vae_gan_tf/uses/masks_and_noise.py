"""Masks and noise specs for the completion and denoising uses (doc 002 §1.5 图像补充; doc 004 §5 降噪), and
the two scores over pixels in [0, 1]; the noise itself is ``data.corruption``. NumPy only: the CLIs check
a spec before TensorFlow is imported.

A mask is 1 where a pixel is known and 0 where it is missing, with the images' shape (N, H, W, C).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from vae_gan_tf.errors import UserError

MASK_KINDS = ("center", "left", "top", "random:P", "FILE.png")
NOISE_KINDS = ("gaussian:SIGMA", "salt_pepper:P", "mask:P")


def _fraction(spec: str, what: str, upper_open: bool = True) -> float:
    name, _, value = spec.partition(":")
    try:
        p = float(value)
    except ValueError:
        raise UserError(f"{what} {spec!r} needs a number after '{name}:', e.g. {name}:0.3") from None
    if not (0.0 < p < 1.0 if upper_open else 0.0 < p):
        raise UserError(f"{what} {spec!r}: the value must be in (0, 1){'' if upper_open else ' or above 0'}")
    return p


def check_mask_spec(spec: str) -> str:
    """``spec`` itself if it names a mask (see MASK_KINDS), else a UserError."""
    if spec in ("center", "left", "top"):
        return spec
    if spec.startswith("random:"):
        _fraction(spec, "--mask")
        return spec
    if spec.lower().endswith(".png"):
        if not Path(spec).is_file():
            raise UserError(
                f"--mask file {spec} does not exist; give a PNG whose white pixels are the known ones"
            )
        return spec
    raise UserError(f"--mask {spec!r} is not a mask; use one of {', '.join(MASK_KINDS)}")


def make_masks(spec: str, shape, seed: int = 0) -> np.ndarray:
    """Masks of ``shape`` (N, H, W, C), float32: ``center`` hides the middle half of each side (a square
    of a quarter of the image, as in Yeh et al. 2017's central block), ``left`` / ``top`` the left / top
    half, ``random:P`` each pixel with probability P (drawn per image, the same over channels), and a
    PNG is read as grey levels, > 0.5 known, and must have the images' height and width."""
    n, h, w, c = shape
    known = np.ones((n, h, w, 1), np.float32)
    if spec == "center":
        known[:, h // 4:h // 4 + h // 2, w // 4:w // 4 + w // 2] = 0.0
    elif spec == "left":
        known[:, :, : w // 2] = 0.0
    elif spec == "top":
        known[:, : h // 2] = 0.0
    elif spec.startswith("random:"):
        known = (np.random.default_rng(seed).random((n, h, w, 1)) >= _fraction(spec, "--mask")).astype(
            np.float32
        )
    else:
        known = np.broadcast_to(read_mask_png(spec, h, w), (n, h, w, 1)).copy()
    return check_masks(np.repeat(known, c, axis=-1), shape)


def read_mask_png(path: str, height: int, width: int) -> np.ndarray:
    """A (H, W, 1) mask from a PNG file, white (> 0.5) = known."""
    import vae_gan_tf.report.plotting  # noqa: F401  (first: it imports matplotlib whatever $MPLBACKEND says)
    import matplotlib.image

    try:
        pixels = np.asarray(matplotlib.image.imread(path), np.float32)
    except (OSError, ValueError, SyntaxError) as err:
        raise UserError(f"--mask {path} could not be read as a PNG ({err}); give a greyscale PNG") from None
    if pixels.max() > 1.0:
        pixels = pixels / 255.0
    grey = pixels[..., :3].mean(axis=-1) if pixels.ndim == 3 else pixels
    if grey.shape != (height, width):
        raise UserError(
            f"--mask {path} is {grey.shape[0]}x{grey.shape[1]} but the model's images are "
            f"{height}x{width}; draw the mask at the images' size"
        )
    return (grey > 0.5).astype(np.float32)[..., None]


def check_masks(masks: np.ndarray, shape) -> np.ndarray:
    """``masks`` if they fit images of ``shape`` and every one hides some pixels and keeps some."""
    if tuple(masks.shape) != tuple(shape):
        raise UserError(
            f"the mask has shape {tuple(masks.shape)} but the images have {tuple(shape)}; "
            "give one mask value per pixel and channel"
        )
    hidden = (masks < 0.5).reshape(len(masks), -1).mean(axis=1)
    if np.any(hidden == 0.0):
        raise UserError(
            "the mask hides no pixel of some image, so there is nothing to complete; "
            "use a mask with missing (black, 0) pixels"
        )
    if np.any(hidden == 1.0):
        raise UserError(
            "the mask hides every pixel of some image, so nothing is known to complete from; "
            "use a mask with known (white, 1) pixels"
        )
    return masks.astype(np.float32)


def check_noise_spec(spec: str) -> str:
    """``spec`` if it names a noise (see NOISE_KINDS), else a UserError."""
    name = spec.partition(":")[0]
    if name not in ("gaussian", "salt_pepper", "mask"):
        raise UserError(f"--noise {spec!r} is not a noise; use one of {', '.join(NOISE_KINDS)}")
    _fraction(spec, "--noise", upper_open=name != "gaussian")
    return spec
