"""One training process of tests/training/test_multi_worker.py: ``training.train_run`` exactly as the CLI runs it,
plus a record of the weights it ended with.

    python tests/scripts/multi_worker_train.py RUN_DIR RECORD.npz KEY=VALUE...

RECORD.npz holds the model's weights at the start and at the end of ``fit`` (a callback added to the
run's own list) and, on the chief, the weights of the ``model.keras`` it wrote. ``listed_tmp`` holds the
temporary folders (``vae_gan_tf_worker_*`` under $TMPDIR) and their files as they were at the end of
training, so the test can tell that a non-chief worker's checkpoints existed before they were removed.
With two workers sharing 2 CPU cores, each process uses one intra-op thread (more only oversubscribes
the cores).
"""

import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

tf.config.threading.set_intra_op_parallelism_threads(1)

import keras  # noqa: E402

from vae_gan_tf.models.catalog import register_all  # noqa: E402

register_all()  # the model classes, for keras.models.load_model
from vae_gan_tf.config import load_config  # noqa: E402
from vae_gan_tf.training import fit as training  # noqa: E402

run_dir, record, overrides = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3:]
found = {}


class RecordWeights(keras.callbacks.Callback):
    def on_train_begin(self, logs=None):
        found["start"] = [np.asarray(w) for w in self.model.get_weights()]

    def on_train_end(self, logs=None):
        found["weights"] = [np.asarray(w) for w in self.model.get_weights()]
        tmp = Path(tempfile.gettempdir())
        found["listed_tmp"] = sorted(str(p.relative_to(tmp)) for d in tmp.glob("vae_gan_tf_worker_*")
                                     for p in [d, *d.rglob("*")])


def make_callbacks(*args, **kwargs):
    return run_callbacks(*args, **kwargs) + [RecordWeights()]


run_callbacks, training.make_callbacks = training.make_callbacks, make_callbacks
metrics = training.train_run(load_config(None, overrides), run_dir, verbose=0)
saved = {}
if (run_dir / "model.keras").exists():
    reloaded = keras.models.load_model(run_dir / "model.keras")
    saved = {f"saved_{i}": w for i, w in enumerate(reloaded.get_weights())}
np.savez(record, **{f"fit_{i}": w for i, w in enumerate(found["weights"])},
         **{f"start_{i}": w for i, w in enumerate(found["start"])}, **saved,
         listed_tmp=np.array(found["listed_tmp"], dtype=str), chief=metrics.get("chief", True))
