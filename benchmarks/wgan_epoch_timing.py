"""Where the last comparison report's WGAN-GP "15 images/s" came from: one training run timed three ways.

The run is the old report's setting (configs/wgan_gp_mnist.yaml on full MNIST, one thread, batch 64,
5 critic steps) for 2 epochs, the second cut short the way ``train.time_budget_minutes`` cut it there: after
``--second-epoch-steps`` steps. It prints
- ``whole_epoch_images_per_s``: the old ``EpochTimer`` figure, the images of the epochs after the first over
  their whole wall-clock time, validation pass and epoch-end callbacks included;
- ``steady_images_per_s``: ``metrics.json``'s figure now (``callbacks.EpochTimer``: training steps only,
  after the first execution), the count ``benchmarks/throughput.py`` uses;
- ``validation_seconds`` and ``epoch_end_seconds`` of the short epoch: where its time went.

    python benchmarks/wgan_epoch_timing.py --data idx:../shared/data/mnist --steps 8 --second-epoch-steps 1
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="idx:../shared/data/mnist")
    parser.add_argument("--steps", type=int, default=8, help="steps of the first epoch")
    parser.add_argument("--second-epoch-steps", type=int, default=1, help="steps before the stop in epoch 2")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    from vae_gan_tf.config import images_per_step, load_config
    from vae_gan_tf.data.pipeline import make_datasets
    from vae_gan_tf.models.catalog import build_model, compile_model
    from vae_gan_tf.training.callbacks import EpochTimer

    class Clock(keras.callbacks.Callback):
        """Whole epochs, the validation pass, and the stop after ``cut`` steps of epoch 2."""

        def __init__(self, cut):
            super().__init__()
            self.cut, self.marks = cut, {}

        def on_epoch_begin(self, epoch, logs=None):
            self.marks[f"begin{epoch}"] = time.perf_counter()

        def on_train_batch_end(self, batch, logs=None):
            self.marks[f"step{self.epoch}"] = time.perf_counter()
            if self.epoch == 1 and batch + 1 >= self.cut:
                self.model.stop_training = True

        def on_test_begin(self, logs=None):
            self.marks[f"test{self.epoch}"] = time.perf_counter()

        def on_test_end(self, logs=None):
            self.marks[f"tested{self.epoch}"] = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            self.marks[f"end{epoch}"] = time.perf_counter()
            self.epoch = epoch + 1

    overrides = [f"data.source={args.data}", f"train.steps_per_epoch={args.steps}"]
    config = load_config("configs/wgan_gp_mnist.yaml", overrides)
    data = make_datasets(config)
    model = compile_model(build_model(config, data.image_shape), config)
    clock, timer = Clock(args.second_epoch_steps), EpochTimer()
    clock.epoch = 0
    model.fit(data.train, epochs=2, steps_per_epoch=data.steps_per_epoch, validation_data=data.validation,
              verbose=0, callbacks=[clock, timer])
    images = images_per_step(config)
    m = clock.marks
    print(json.dumps({
        "images_per_step": images, "first_epoch_steps": timer.steps[0], "second_epoch_steps": timer.steps[1],
        "whole_epoch_images_per_s": round(timer.steps[1] * images / (m["end1"] - m["begin1"]), 1),
        "steady_images_per_s": timer.images_per_second(images),
        "second_epoch_seconds": round(m["end1"] - m["begin1"], 1),
        "second_epoch_training_seconds": round(m["step1"] - m["begin1"], 1),
        "validation_seconds": round(m["tested1"] - m["test1"], 1),
        "validation_images": len(data.validation_images)}))
    return 0


if __name__ == "__main__":
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    sys.exit(main())
