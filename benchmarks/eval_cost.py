"""What ``train.eval_every_epochs`` costs per evaluation, relative to one training epoch, at each full-MNIST
recipe's settings (configs/*_mnist60k.yaml).

For each recipe: the CPU seconds (``time.process_time``, one thread) of ``--steps`` steady training steps
(after one traced execution), scaled to the recipe's steps per epoch, and the CPU seconds of one evaluation
(``training.epoch_evaluation.EpochEvaluation`` on ``train.eval_samples`` prior samples: generation, classifier features,
FID, KID, precision/recall, density/coverage; the real features are computed once per session and not
counted). Needs the data and the cached classifier of the source:

    python benchmarks/eval_cost.py --data idx:../shared/data/mnist --steps 20 --json
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

RECIPES = {"vae": "configs/vae_mnist60k.yaml", "vaegan": "configs/vaegan_mnist60k.yaml",
           "dcgan": "configs/dcgan_mnist60k.yaml", "wgan_gp": "configs/wgan_gp_mnist60k.yaml",
           "two_stage_vae": "configs/two_stage_vae_bernoulli_mnist60k.yaml"}  # the measured one (until issue 23 its name)


def measure(name: str, data_source: str, steps: int) -> dict:
    import keras

    from vae_gan_tf.config import load_config, with_absolute_paths
    from vae_gan_tf.data.pipeline import make_datasets
    from vae_gan_tf.models.catalog import build_model, compile_model
    from vae_gan_tf.training.epoch_evaluation import make_epoch_evaluation

    config = with_absolute_paths(load_config(RECIPES[name], [f"data.source={data_source}"]))
    keras.utils.set_random_seed(0)
    data = make_datasets(config)
    model = compile_model(build_model(config, data.image_shape), config)
    model.fit(data.train, epochs=1, steps_per_epoch=2, verbose=0)  # trace
    start = time.process_time()
    model.fit(data.train, epochs=1, steps_per_epoch=steps, verbose=0)
    step_cpu = (time.process_time() - start) / steps
    evaluation = make_epoch_evaluation(model, config, "/tmp/eval_cost_logs", 1)
    evaluation.set_model(model)
    start = time.process_time()
    logs = {}
    evaluation.on_epoch_end(0, logs)
    eval_cpu = time.process_time() - start
    epoch_cpu = step_cpu * data.steps_per_epoch
    return {"model": name, "steps_per_epoch": data.steps_per_epoch, "eval_samples": config.train.eval_samples,
            "epoch_cpu_s": round(epoch_cpu, 1), "eval_cpu_s": round(eval_cpu, 1),
            "eval_over_epoch": round(eval_cpu / epoch_cpu, 3)}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="idx:../shared/data/mnist")
    parser.add_argument("--models", default=",".join(RECIPES))
    parser.add_argument("--steps", type=int, default=20, help="timed training steps per recipe")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    rows = [measure(name, args.data, args.steps) for name in args.models.split(",")]
    print(json.dumps(rows) if args.json else "\n".join(json.dumps(r) for r in rows))
    return 0


if __name__ == "__main__":
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    sys.exit(main())
