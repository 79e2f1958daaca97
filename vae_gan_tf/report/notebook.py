"""The shared set-up of the notebooks in ``notebooks_export/``: the ``--quick`` flag, the output
folder, and saving or showing pictures both as a plain script and inside Jupyter."""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path


class NotebookSession:
    """``quick``, ``out`` (``notebooks_export/_out/NNN``), ``configs`` and the picture helpers.

    Create it before TensorFlow and pyplot are imported: it picks matplotlib's Agg backend outside
    Jupyter and quiets TensorFlow's start-up log.
    """

    def __init__(self, number: str, description: str, file: str | None = None):
        parser = argparse.ArgumentParser(description=description)  # the notebook's own --quick flag
        parser.add_argument("--quick", action="store_true", help="a few training steps only (for tests)")
        args, _ = parser.parse_known_args()  # Jupyter passes arguments of its own
        self.quick = args.quick
        self.in_notebook = "ipykernel" in sys.modules
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        import matplotlib

        if not self.in_notebook:
            matplotlib.use("Agg")
        here = Path(file).resolve().parent if file else Path.cwd()  # Jupyter: the notebook's folder
        self.configs = here.parent / "configs"
        self.out = here / "_out" / number
        self.out.mkdir(parents=True, exist_ok=True)
        print(f"quick mode: {self.quick}; outputs in {self.out}")

    def save(self, fig, name: str) -> None:
        """Save a figure under ``out`` (and keep it open for display inside Jupyter)."""
        import matplotlib.pyplot as plt

        from vae_gan_tf.runs.folder import atomic

        with atomic(self.out / name) as incoming:
            fig.savefig(incoming, dpi=100, bbox_inches="tight")
        if not self.in_notebook:
            plt.close(fig)
        print("wrote", self.out / name)

    def show_png(self, path) -> None:
        """Display a PNG the library wrote (inside Jupyter); print its path otherwise."""
        if self.in_notebook:
            from IPython.display import Image, display

            display(Image(filename=str(path)))
        else:
            print("see", path)

    def fresh_run_dir(self, name: str) -> Path:
        """A clean run folder: ``train_run`` resumes from checkpoints it finds, so old ones are removed."""
        run_dir = self.out / "runs" / name
        shutil.rmtree(run_dir, ignore_errors=True)
        return run_dir


def fit(config, data):
    """Build, compile and fit the model a config describes on an existing DataBundle, without a run
    folder (notebooks reuse one loaded dataset for several models). Returns (model, history dict)."""
    import keras

    from vae_gan_tf.models.catalog import build_model, compile_model

    keras.utils.set_random_seed(config.train.seed)
    model = compile_model(build_model(config, data.image_shape), config)
    history = model.fit(data.train, epochs=config.train.epochs, steps_per_epoch=data.steps_per_epoch,
                        validation_data=data.validation, verbose=0, shuffle=False).history
    return model, history
