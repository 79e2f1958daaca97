"""Mode collapse on the 2-D mixtures, and DCGAN training throughput.

For each loss (minimax, non-saturating, WGAN-GP) on ``ring8`` and ``grid25``, and for several seeds, a
GAN is trained through the library's own config, data pipeline, model and ``fit``. Then 2,500 samples are
scored with ``vae_gan_tf.metrics.modes.mode_coverage``: how many modes are captured, and the share of
high-quality samples (those within 3 std of a mode). The script reports the median over seeds, beside the
published numbers:

    VEEGAN (Srivastava et al. 2017, Table 1):  ring 8 modes / 52.9% HQ;  grid 24.6 modes / 40% HQ
    PacGAN4 (Lin et al. 2018, Table 3):        ring 7.8 modes;            grid 24.8 modes

``--dcgan`` also measures DCGAN training images/s on MNIST-shaped data (mnist5k, 28x28x1) at batch 64.

    python benchmarks/gan_toy2d.py --seeds 5 --steps 3000 --json benchmarks/results/gan_toy2d.json --dcgan
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

PUBLISHED = {
    "VEEGAN (Srivastava et al. 2017, Table 1)": {"ring8": (8, 52.9), "grid25": (24.6, 40.0)},
    "PacGAN4 (Lin et al. 2018)": {"ring8": (7.8, None), "grid25": (24.8, None)},
}
LOSSES = {
    "minimax": ["model.name=gan", "model.loss=minimax"],
    "nonsaturating": ["model.name=gan", "model.loss=nonsaturating"],
    "wgan_gp": ["model.name=wgan", "model.constraint=gradient_penalty", "model.d_steps=5"],
}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=3000, help="generator steps per run")
    parser.add_argument("--losses", default=",".join(LOSSES))
    parser.add_argument("--datasets", default="ring8,grid25")
    parser.add_argument("--set", dest="overrides", action="append", default=[], help="extra config overrides")
    parser.add_argument("--threads", type=int, default=0, help="TF intra-op threads (0: TF's default)")
    parser.add_argument("--dcgan", action="store_true", help="also measure DCGAN images/s at batch 64")
    parser.add_argument("--json", metavar="FILE")
    return parser.parse_args(argv)


def train_and_score(dataset, loss, seed, steps, extra):
    import keras
    import numpy as np

    from vae_gan_tf.config import load_config
    from vae_gan_tf.data.pipeline import make_datasets
    from vae_gan_tf.data.toy2d import mixture
    from vae_gan_tf.metrics.modes import mode_coverage
    from vae_gan_tf.models.registry import build_model, compile_model

    keras.utils.set_random_seed(seed)
    epochs = 10
    # The networks of configs/gan_ring8.yaml and gan_grid25.yaml; each family's own optimizer defaults
    # (GAN: Adam 2e-4, beta_1 0.5; WGAN-GP: Adam 1e-4, betas 0 / 0.9).
    config = load_config(None, [
        f"data.source={dataset}", "data.validation_split=0.0", "model.architecture=mlp", "model.latent_dim=2",
        "model.generator_units=[256, 256, 256]", "model.discriminator_units=[256, 256, 256]",
        "model.output_activation=linear", "train.batch_size=256", *LOSSES[loss], f"train.seed={seed}",
        f"train.epochs={epochs}", f"train.steps_per_epoch={max(1, steps // epochs)}", *extra])
    data = make_datasets(config)
    model = compile_model(build_model(config, data.image_shape), config)
    start = time.perf_counter()
    model.fit(data.train, epochs=epochs, steps_per_epoch=data.steps_per_epoch, verbose=0, shuffle=False)
    seconds = time.perf_counter() - start
    z = np.random.default_rng(10_000 + seed).standard_normal((2500, model.latent_dim)).astype(np.float32)
    means, std = mixture(dataset)
    captured, high_quality = mode_coverage(keras.ops.convert_to_numpy(model.generate(z)), means, std)
    return {"dataset": dataset, "loss": loss, "seed": seed, "modes": captured,
            "high_quality_percent": round(100 * high_quality, 1), "train_seconds": round(seconds, 1)}


def dcgan_throughput():
    import keras

    from vae_gan_tf.config import load_config
    from vae_gan_tf.data.pipeline import make_datasets
    from vae_gan_tf.models.registry import build_model, compile_model

    config = load_config("configs/dcgan_mnist.yaml", ["train.batch_size=64", "train.steps_per_epoch=30"])
    data = make_datasets(config)
    model = compile_model(build_model(config, data.image_shape), config)
    model.fit(data.train, epochs=1, steps_per_epoch=5, verbose=0, shuffle=False)  # trace and warm up
    times = []

    class Timer(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            times.append(time.perf_counter() - self.start)

    model.fit(data.train, epochs=3, steps_per_epoch=30, verbose=0, shuffle=False, callbacks=[Timer()])
    per_epoch = [30 * 64 / t for t in times]
    return {"model": "dcgan_mnist (28x28x1)", "batch": 64, "images_per_s_per_epoch": [round(v, 1) for v in per_epoch],
            "images_per_s_median": round(sorted(per_epoch)[len(per_epoch) // 2], 1)}


def main(argv=None):
    args = parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import numpy as np
    import tensorflow as tf

    if args.threads:
        tf.config.threading.set_intra_op_parallelism_threads(args.threads)
        tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    runs = []
    for dataset in args.datasets.split(","):
        for loss in args.losses.split(","):
            for seed in range(args.seeds):
                runs.append(train_and_score(dataset, loss, seed, args.steps, args.overrides))
                print(json.dumps(runs[-1]), flush=True)
    summary = []
    for dataset in args.datasets.split(","):
        for loss in args.losses.split(","):
            chosen = [r for r in runs if r["dataset"] == dataset and r["loss"] == loss]
            summary.append({"dataset": dataset, "loss": loss, "seeds": len(chosen),
                            "median_modes": float(np.median([r["modes"] for r in chosen])),
                            "median_high_quality_percent": float(np.median([r["high_quality_percent"] for r in chosen]))})
    results = {"steps": args.steps, "overrides": args.overrides, "summary": summary, "published": PUBLISHED,
               "runs": runs}
    if args.dcgan:
        results["dcgan_throughput"] = dcgan_throughput()
    print("\n| data | loss | median modes | median % high quality |\n|---|---|---|---|")
    for row in summary:
        print(f"| {row['dataset']} | {row['loss']} | {row['median_modes']:g} | {row['median_high_quality_percent']:g} |")
    if args.dcgan:
        print(f"\nDCGAN (28x28x1, batch 64): {results['dcgan_throughput']['images_per_s_median']} images/s")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(results, fh, indent=2)
    return 0


if __name__ == "__main__":
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    sys.exit(main())
