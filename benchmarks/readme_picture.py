"""The README's picture: samples from two runs' SavedModels side by side (one PNG, matplotlib).

    python -m vae_gan_tf.train --epochs 10 --out runs/pic_vae
    python -m vae_gan_tf.train --config configs/dcgan_mnist.yaml --epochs 10 --out runs/pic_dcgan \
        --set train.time_budget_minutes=12      # the picture's run: stopped in epoch 2, then
    python -m vae_gan_tf.train --out runs/pic_dcgan --resume --epochs 10   # the remaining 8 epochs
    python benchmarks/readme_picture.py runs/pic_vae runs/pic_dcgan --out docs/images/vae_and_gan_samples.png

Each panel is 36 draws of the prior through the run's ``sample`` endpoint, from the same seed.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from vae_gan_tf.data.pixels import to_unit_range
from vae_gan_tf.report.plotting import plt, tile
from vae_gan_tf.runs.saved_model import find_saved_model, load_saved_model, prior_samples, read_export_info


def panel(run: str, n: int, seed: int) -> tuple[np.ndarray, str]:
    """A (rows·H, cols·W, C) mosaic of ``n`` samples of ``run`` and the run's family name."""
    saved_model = find_saved_model(Path(run))
    info = read_export_info(saved_model)
    z = np.random.default_rng(seed).standard_normal((n, info["latent_dim"]))
    images = to_unit_range(prior_samples(load_saved_model(saved_model), info, z), tuple(info["pixel_range"]))
    return tile(images, int(np.ceil(np.sqrt(n)))), info["family"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs=2, help="two run folders (left, right)")
    parser.add_argument("--out", required=True, help="PNG to write")
    parser.add_argument("--n", type=int, default=36, help="samples per panel (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the prior noise (default: %(default)s)")
    args = parser.parse_args()
    fig, axes = plt.subplots(1, 2, figsize=(6.4, 3.5), dpi=100)
    for ax, run in zip(axes, args.runs):
        mosaic, family = panel(run, args.n, args.seed)
        ax.imshow(mosaic[..., 0], cmap="gray", vmin=0, vmax=1, interpolation="nearest")
        ax.set_title(family, fontsize=10)
        ax.axis("off")
    fig.tight_layout()
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
