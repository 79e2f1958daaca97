"""Training throughput of the library's ``fit`` against a bare ``tf.function`` loop, and as a
fraction of this machine's float32 matmul rate, all measured in one run.

For each model (the MLP VAE with doc 003's sizes, the conv VAE, DCGAN, WGAN-GP), each batch size and
jit on/off, the script measures:
- ``fit_images_per_s``: ``model.fit`` with ``steps_per_execution`` on the library's tf.data pipeline, in
  steady state: from the end of its first execution to the end of its last (a callback's clock), so that
  ``fit``'s one-off setup (iterator, callbacks) is not charged to the steps;
- ``bare_loop_images_per_s``: the same model's ``train_step`` in a plain ``tf.function`` loop over the
  same pipeline (no callbacks, no progress bar);
- ``train_gflops``: the float operations of one traced train step (TF's graph profiler), times steps/s.
  ``fraction_of_matmul`` divides it by ``matmul_gflops``: the best of the 2048x2048 float32 matmul rates
  timed before every measurement of the run (the machine is shared, so one reading can be low; the best
  one makes the fraction conservative).

    python benchmarks/throughput.py --json > benchmarks/results/throughput.json
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

MODELS = {
    "mlp_vae": (None, ["model.architecture=mlp", "model.hidden_units=[512, 256]", "model.latent_dim=64"]),
    "conv_vae": (None, []),
    "dcgan": ("configs/dcgan_mnist.yaml", []),
    "wgan_gp": ("configs/wgan_gp_mnist.yaml", []),
}


def matmul_gflops(size=2048, repeats=20):
    import tensorflow as tf

    a = tf.random.normal((size, size))
    b = tf.random.normal((size, size))
    matmul = tf.function(lambda x, y: tf.reduce_sum(tf.matmul(x, y)))
    matmul(a, b).numpy()
    start = time.perf_counter()
    for _ in range(repeats):
        matmul(a, b).numpy()
    return 2 * size**3 * repeats / (time.perf_counter() - start) / 1e9


def step_flops(concrete_function) -> float:
    """Float operations of one call of a traced function, from TF's graph profiler."""
    from tensorflow.python.profiler import model_analyzer, option_builder

    options = option_builder.ProfileOptionBuilder(option_builder.ProfileOptionBuilder.float_operation())
    options = options.with_empty_output().build()
    return float(model_analyzer.profile(concrete_function.graph, options=options).total_float_ops)


def make_clock():
    import keras

    class Clock(keras.callbacks.Callback):
        """The time at the end of every execution (Keras calls batch hooks once per execution)."""

        def __init__(self):
            super().__init__()
            self.times = []

        def on_train_batch_end(self, batch, logs=None):
            self.times.append(time.perf_counter())

    return Clock()


def measure(name, batch, jit, steps, steps_per_execution):
    import keras
    import tensorflow as tf

    from vae_gan_tf.config import images_per_step, load_config
    from vae_gan_tf.data.pipeline import make_datasets
    from vae_gan_tf.models.registry import build_model, compile_model

    path, overrides = MODELS[name]
    config = load_config(path, [*overrides, f"train.batch_size={batch}", f"train.jit_compile={str(jit).lower()}",
                                f"train.steps_per_execution={steps_per_execution}"])
    keras.utils.set_random_seed(0)
    data = make_datasets(config)
    images = images_per_step(config)
    model = compile_model(build_model(config, data.image_shape), config)
    model.fit(data.train, epochs=1, steps_per_epoch=2 * steps_per_execution, verbose=0, shuffle=False)  # trace
    clock = make_clock()
    model.fit(data.train, epochs=1, steps_per_epoch=steps + steps_per_execution, verbose=0, shuffle=False,
              callbacks=[clock])
    fit_rate = steps * images / (clock.times[-1] - clock.times[0])

    bare = compile_model(build_model(config, data.image_shape), config)
    step = tf.function(bare.train_step, jit_compile=jit)
    iterator = iter(data.train)
    concrete = step.get_concrete_function(next(iterator))
    for _ in range(3):
        step(next(iterator))
    start = time.perf_counter()
    for _ in range(steps):
        logs = step(next(iterator))
    float(next(iter(logs.values())))  # wait for the last step
    bare_rate = steps * images / (time.perf_counter() - start)
    flops = step_flops(concrete)
    return {"model": name, "batch": batch, "jit": jit, "fit_images_per_s": round(fit_rate, 1),
            "bare_loop_images_per_s": round(bare_rate, 1), "fit_over_bare": round(fit_rate / bare_rate, 3),
            "train_gflops": round(flops * fit_rate / images / 1e9, 2), "flops_per_step": flops}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--batches", default="128,256")
    parser.add_argument("--jit", default="false,true")
    parser.add_argument("--steps", type=int, default=40, help="timed steps per measurement")
    parser.add_argument("--steps-per-execution", type=int, default=10)
    parser.add_argument("--json", action="store_true", help="print one JSON object (the issue's schema)")
    args = parser.parse_args(argv)
    if args.steps % args.steps_per_execution:
        parser.error("--steps must be a multiple of --steps-per-execution (fit is timed in whole executions)")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    peak = 0.0
    results = []
    for name in args.models.split(","):
        for batch in (int(b) for b in args.batches.split(",")):
            for jit in (j == "true" for j in args.jit.split(",")):
                peak = max(peak, matmul_gflops())
                row = measure(name, batch, jit, args.steps, args.steps_per_execution)
                results.append(row)
                if not args.json:
                    print(json.dumps(row), flush=True)
    for row in results:
        row["fraction_of_matmul"] = round(row["train_gflops"] / peak, 3)
    report = {"matmul_gflops": round(peak, 1), "results": results}
    print(json.dumps(report, indent=None if args.json else 2))
    return 0


if __name__ == "__main__":
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    sys.exit(main())
