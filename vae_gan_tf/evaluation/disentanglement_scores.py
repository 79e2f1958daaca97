"""`evaluate --metrics mig,beta_vae,factor_vae,dci` for a run whose source has factors of variation: the
encoder means of images drawn uniformly from the source's factor grid, scored by the pure functions of
``metrics/disentanglement.py`` with disentanglement_lib's parameters."""

from __future__ import annotations

import numpy as np

from vae_gan_tf.errors import UserError

DISENTANGLEMENT_METRICS = ("mig", "beta_vae", "factor_vae", "dci")
POOL = 20000  # encoded grid points: MIG's 10,000, DCI's 10,000 + 5,000, the fixed-factor batches' pool
MIG_POINTS = 10000


def check_factors(source: str, run_dir, metrics) -> None:
    """One UserError line when disentanglement metrics are asked of a run without factors."""
    from vae_gan_tf.data.source_names import has_factors

    asked = [m for m in metrics if m in DISENTANGLEMENT_METRICS]
    if asked and not has_factors(source):
        raise UserError(f"the disentanglement metrics ({', '.join(asked)}) need a run trained on images with "
                        f"known factors (data.source=dsprites_like or dsprites:FILE); {run_dir} was trained "
                        f"on {source}")


def encoder_means(loaded, info: dict, images, batch: int = 500, progress=None) -> np.ndarray:
    """E[z|x] from a loaded export's ``encode`` endpoint for images in [0, 1] (float64, (N, D)); ``progress``
    (a ``keras.utils.Progbar``) advances by the images of each batch."""
    import tensorflow as tf

    from vae_gan_tf.data.pixels import from_unit_range

    if not hasattr(loaded, "encode"):
        raise UserError(f"the disentanglement metrics need an encoder; a {info['family']} export has none")
    chunks = []
    for start in range(0, len(images), batch):
        x = from_unit_range(images[start:start + batch], tuple(info["pixel_range"]))
        code = loaded.encode(tf.constant(x, tf.float32))
        chunks.append((code[0] if isinstance(code, (list, tuple)) else code).numpy())
        if progress is not None:
            progress.add(len(x))
    return np.concatenate(chunks).astype(np.float64)


def grid_images(grid, classes, image_shape) -> np.ndarray:
    """The grid's images of ``classes``, resized to the model's (H, W) when they differ (area)."""
    images = grid.images(classes)
    if tuple(images.shape[1:3]) != tuple(image_shape[:2]):
        import tensorflow as tf

        images = np.clip(tf.image.resize(images, image_shape[:2], method="area").numpy(), 0.0, 1.0)
    return images


def encoded_pool(loaded, info: dict, grid, n: int = POOL, seed: int = 0, verbose: bool = True):
    """(codes (n, D), factor classes (n, K)) of ``n`` uniform draws from the grid, with a progress bar of the
    images encoded unless ``verbose`` is False."""
    import keras

    classes = grid.sample_factors(n, np.random.default_rng(seed))
    progress = keras.utils.Progbar(n, unit_name="image", verbose=1 if verbose else 0)
    return encoder_means(loaded, info, grid_images(grid, classes, info["image_shape"]), progress=progress), classes


def score_codes(codes, classes, metrics, seed: int = 0, dci_train: int = 10000, dci_eval: int = 5000,
                verbose: bool = False) -> dict:
    """The requested metrics of ``codes``/``classes`` with disentanglement_lib's parameters (``dci_train``
    and ``dci_eval`` smaller only where a benchmark says so), plus the matrices under ``_matrices``; with
    ``verbose`` a progress bar of the scores done, DCI's classifier of each factor counted as one (the four
    scores took 11 minutes of silence on a shared 2-core machine before it, issue 25)."""
    import keras

    from vae_gan_tf.evaluation.metrics import disentanglement as d

    stages = sum(m in metrics for m in ("mig", "beta_vae", "factor_vae")) + classes.shape[1] * ("dci" in metrics)
    progress = keras.utils.Progbar(stages, unit_name="score", verbose=1 if verbose else 0)
    results: dict = {}
    matrices: dict = {}
    if "mig" in metrics:
        found = d.mig(codes[:MIG_POINTS], classes[:MIG_POINTS])
        results["mig"] = found["mig"]
        matrices["mutual_information"] = found["mutual_information"].tolist()
        matrices["mig_per_factor"] = found["mig_per_factor"]
        progress.add(1)
    if "beta_vae" in metrics:
        results.update(d.beta_vae_score(codes, classes, seed=seed))
        progress.add(1)
    if "factor_vae" in metrics:
        results.update(d.factor_vae_score(codes, classes, seed=seed))
        progress.add(1)
    if "dci" in metrics:
        found = d.dci(codes, classes, train_points=dci_train, eval_points=dci_eval, seed=seed, progress=progress)
        matrices["dci_importance"] = found.pop("importance").tolist()
        results.update(found)
    results["_matrices"] = matrices
    return results


def disentanglement_metrics(run_dir, config, info: dict, metrics, seed: int = 0, verbose: bool = True,
                            **kwargs) -> dict:
    """The requested disentanglement metrics of the run (module docstring)."""
    from vae_gan_tf.data.dsprites import factor_grid
    from vae_gan_tf.runs.folder import SAVED_MODEL
    from vae_gan_tf.runs.saved_model import load_saved_model

    check_factors(config.data.source, run_dir, metrics)
    grid = factor_grid(config.data.source, config.data.image_size)
    loaded = load_saved_model(run_dir / SAVED_MODEL)
    codes, classes = encoded_pool(loaded, info, grid, seed=seed, verbose=verbose)
    results = score_codes(codes, classes, metrics, seed=seed, verbose=verbose, **kwargs)
    results["_matrices"]["factor_names"] = list(grid.factor_names)
    return results
