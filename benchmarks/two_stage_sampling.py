"""How a trained two-stage VAE's samples depend on the way z is drawn (docs/comparison.md, "Two-stage VAE").

For one run it prints γ of the second decoder, the spread of μ(u) over prior draws of u, and the sample
quality (classifier features against held-out test images) of three samplers:
- ``first_decoder_only``: z ~ N(0, I) into the first decoder, the one-stage VAE's sample;
- ``ancestral``: u ~ N(0, I), z ~ N(μ(u), γI), the library's ``generate``;
- ``mean``: u ~ N(0, I), z = μ(u), Dai & Wipf 2019's sample (§4), the same as ``ancestral`` when γ → 0.

    python benchmarks/two_stage_sampling.py benchmarks/results/compare_mnist/runs/two_stage_vae_seed0 --json
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", help="a two-stage VAE run folder that has reached stage 2")
    parser.add_argument("--n", type=int, default=5000, help="samples per sampler, and held-out images")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras
    import numpy as np
    import tensorflow as tf

    from vae_gan_tf.config import load_config
    from vae_gan_tf.data.held_out import held_out_images
    from vae_gan_tf.evaluation.features import make_extractor
    from vae_gan_tf.models.vae import two_stage_vae  # noqa: F401  (registers the class for loading)
    from vae_gan_tf.training.epoch_evaluation import sample_quality

    run = Path(args.run)
    config = load_config(run / "config.yaml")
    model = keras.models.load_model(run / "model.keras")
    if getattr(model, "stage", None) != 2:
        print(f"error: {run} holds no two-stage VAE in stage 2; train it past train.epochs first", file=sys.stderr)
        return 2
    extractor = make_extractor("classifier", config.data.source)
    real_features, _ = extractor(held_out_images(config, args.n, config.train.seed)[0])
    u = np.random.default_rng(args.seed).standard_normal((args.n, model.latent_dim)).astype(np.float32)
    tf.random.set_seed(args.seed)
    mean = model.second_decode(u)
    samplers = {"first_decoder_only": lambda: model.decode(u), "ancestral": lambda: model.generate(u),
                "mean": lambda: model.decode(mean)}
    result = {"run": str(run), "n": args.n, "gamma": float(np.exp(model.second_log_gamma.numpy())),
              "mu_sd": float(np.mean(np.std(mean.numpy(), axis=0))), "samplers": {}}
    for name, draw in samplers.items():
        images = keras.ops.convert_to_numpy(draw())
        result["samplers"][name] = sample_quality(real_features, extractor(images)[0], args.seed)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"gamma {result['gamma']:.4g}, sd of mu(u) {result['mu_sd']:.3g}")
        for name, values in result["samplers"].items():
            print(name, ", ".join(f"{k[5:]}={v:.4g}" for k, v in values.items()))
    return 0


if __name__ == "__main__":
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    sys.exit(main())
