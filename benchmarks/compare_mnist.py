"""A conv VAE, a DCGAN and a WGAN-GP trained on MNIST with equal CPU time, then compared.

Each model trains in this process with one TF thread, so each gets one CPU for the same wall-clock
budget (``train.time_budget_minutes``). The feature classifier is trained on the same source. Each
run is evaluated on ``--n`` samples, and ``python -m vae_gan_tf.compare`` writes the side-by-side report:

    python benchmarks/compare_mnist.py --data idx:../shared/data/mnist --minutes 10 --out benchmarks/results/compare_mnist
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

MODELS = {
    "conv_vae": ("configs/vae_mnist5k.yaml", []),
    "dcgan": ("configs/dcgan_mnist.yaml", []),
    "wgan_gp": ("configs/wgan_gp_mnist.yaml", []),
}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="idx:../shared/data/mnist")
    parser.add_argument("--minutes", type=float, default=10.0, help="training budget per model")
    parser.add_argument("--n", type=int, default=10000, help="samples per evaluation")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--k", type=int, default=200, help="importance samples for the VAE's log-likelihood")
    parser.add_argument("--nll-images", type=int, default=500, help="held-out images for the log-likelihood")
    parser.add_argument("--out", default="benchmarks/results/compare_mnist")
    args = parser.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    from vae_gan_tf import compare
    from vae_gan_tf.config import load_config
    from vae_gan_tf.evaluate import evaluate_run, train_classifier_for
    from vae_gan_tf.features import classifier_path
    from vae_gan_tf.training import train_run

    out = Path(args.out)
    if not classifier_path(args.data).exists():
        print(json.dumps(train_classifier_for(args.data, epochs=5, verbose=2)))
    runs = []
    for name, (config_path, overrides) in MODELS.items():
        run_dir = out / "runs" / name
        config = load_config(config_path, [f"data.source={args.data}", "train.epochs=1000",
                                           f"train.time_budget_minutes={args.minutes}", *overrides])
        if not (run_dir / "model.keras").exists():
            train_run(config, run_dir, verbose=2)
        report = evaluate_run(run_dir, n=args.n, k=args.k, nll_images=args.nll_images)
        print(json.dumps(report["metrics"]))
        runs.append(str(run_dir))
    return compare.main([*runs, "--out", str(out / "report"), "--n", str(args.n)])


if __name__ == "__main__":
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    sys.exit(main())
