"""VAE/GAN (Larsen et al. 2016) against the VAE with the same encoder and decoder, the same data and the same
epochs, each trained by ``python -m vae_gan_tf.train`` into its own run folder.

Reports, from one run of this script: training time of each, and the sharpness of 256 samples from the prior
(the same z for both) as the mean finite-difference gradient magnitude of the images, next to the same
measure on 256 real test images (ratio 1.0: as sharp as the data; a blurry VAE is well below). Writes a figure
with the two sample grids side by side.

Usage:
    python benchmarks/vaegan_vs_vae.py --data idx:../shared/data/mnist --epochs 5 --steps-per-epoch 150 \
        --out /tmp/vaegan_vs_vae --json benchmarks/results/vaegan_vs_vae.json \
        --figure benchmarks/results/vaegan_vs_vae.png
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

CONFIGS = {"vae": "configs/vae_mnist5k.yaml", "vaegan": "configs/vaegan_mnist.yaml"}
ROOT = Path(__file__).resolve().parents[1]


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="idx:../shared/data/mnist", help="data.source for both runs")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--steps-per-epoch", type=int, default=None, help="cap per epoch (null: one pass)")
    parser.add_argument("--samples", type=int, default=256)
    parser.add_argument("--out", default="/tmp/vaegan_vs_vae", help="folder for the two run folders")
    parser.add_argument("--json", metavar="FILE", help="also write the results to FILE")
    parser.add_argument("--figure", metavar="PNG", help="the two sample grids side by side")
    parser.add_argument("--measure-only", action="store_true", help="measure the runs already in --out")
    return parser.parse_args(argv)


def sharpness(images):
    """Mean over images and pixels of |∇x| by forward differences, for images in [0, 1] (N, H, W, C)."""
    import numpy as np

    gx = images[:, :-1, 1:] - images[:, :-1, :-1]
    gy = images[:, 1:, :-1] - images[:, :-1, :-1]
    return float(np.mean(np.sqrt(gx**2 + gy**2)))


def train(name, args):
    run = Path(args.out) / name
    command = [sys.executable, "-m", "vae_gan_tf.train", "--config", CONFIGS[name], "--out", str(run),
               "--overwrite", "--epochs", str(args.epochs), "--set", f"data.source={args.data}"]
    if args.steps_per_epoch:
        command += ["--steps-per-epoch", str(args.steps_per_epoch)]
    subprocess.run(command, cwd=ROOT, check=True)
    return run


def main(argv=None):
    args = parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    runs = {name: Path(args.out) / name if args.measure_only else train(name, args) for name in CONFIGS}
    import numpy as np
    import tensorflow as tf

    from vae_gan_tf.data.sources import load_source
    from vae_gan_tf.report.plotting import save_image_grid

    z = np.random.default_rng(0).standard_normal((args.samples, 16)).astype(np.float32)
    real = load_source(args.data, "test").images[:args.samples]
    results = {"data": args.data, "epochs": args.epochs, "steps_per_epoch": args.steps_per_epoch,
               "real_sharpness": sharpness(real), "models": {}}
    samples = {}
    for name, run in runs.items():
        metrics = json.loads((run / "metrics.json").read_text())
        loaded = tf.saved_model.load(str(run / "saved_model"))  # keep the reference (KERAS3_FACTS.md, export)
        samples[name] = loaded.sample(tf.constant(z)).numpy()
        value = sharpness(samples[name])
        results["models"][name] = {
            "train_seconds": metrics["train_seconds_this_session"],
            "images_per_s": metrics["train_images_per_s"],
            "epochs_completed": metrics["epochs_completed"], "sample_sharpness": value,
            "sharpness_over_real": value / results["real_sharpness"], "final": metrics["final"]}
    print(json.dumps(results, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")
    if args.figure:
        grid = np.concatenate([samples["vae"][:64], samples["vaegan"][:64]], axis=0)
        save_image_grid(grid, args.figure, ncols=16,
                        title=f"same z: VAE (rows 1-4) and VAE/GAN (rows 5-8) after {args.epochs} epochs")


if __name__ == "__main__":
    main()
