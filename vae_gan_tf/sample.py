"""python -m vae_gan_tf.sample RUN_DIR_OR_SAVEDMODEL --n 64 --out grid.png [--seed S] [--interpolate] [--label K] [--traverse]

Uses only the SavedModel (``tf.saved_model.load``) and its ``sample`` endpoint: no model class of
this package is imported, so it works on any export that has that endpoint. A conditional model's grid
has one row per class, or only class K with ``--label K``. ``--traverse`` (a VAE run folder) writes one
row per latent dimension, varied from -3 to 3 around a held-out image's code, each row labelled by the
factor of variation it shares most information with (MIG's I(z_j; v_k), for a source with factors).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from vae_gan_tf.cli.arguments import add_version, check_seed
from vae_gan_tf.cli.tensorflow_import import import_tensorflow
from vae_gan_tf.errors import UserError, run_cli
from vae_gan_tf.runs.folder import check_destination
from vae_gan_tf.runs.saved_model import (
    find_saved_model,
    load_saved_model,
    prior_samples,
    read_export_info,
    slerp,
)

MAX_N = 1024  # images in one grid (32 x 32); a larger grid is unreadable and its figure costs gigabytes


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m vae_gan_tf.sample",
                                     description="Draw samples from a run's SavedModel into a PNG grid.")
    parser.add_argument("path", help="a run folder (uses RUN/saved_model) or a SavedModel folder")
    parser.add_argument("--n", type=int, default=64,
                        help=f"number of images (grid) or of steps (strip), 1 to {MAX_N} (default: %(default)s)")
    parser.add_argument("--out", default="samples.png", metavar="FILE.png",
                        help="PNG file to write (default: %(default)s in the current folder)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the prior noise, 0 or more (default: %(default)s)")
    parser.add_argument("--interpolate", action="store_true",
                        help="a strip from one latent point to another (spherical interpolation)")
    parser.add_argument("--label", type=int, default=None,
                        help="conditional models: draw only this class (default: one row per class)")
    parser.add_argument("--traverse", action="store_true",
                        help="latent traversals: one row per latent dimension, -3 to 3 around a held-out "
                             "image's code (a VAE run folder; --n is the number of columns, default 10)")
    return add_version(parser)


def check_out(out: str) -> Path:
    """The PNG path of ``--out``: a UserError for a folder, another format or a file in the way."""
    path = Path(out)
    if path.is_dir():
        raise UserError(f"--out {out} is a folder; give a file name such as {path / 'samples.png'}")
    if path.suffix.lower() != ".png":
        raise UserError(f"--out {out}: sample writes PNG images; give a name ending in .png")
    blocking = next((p for p in path.parents if p.exists() and not p.is_dir()), None)
    if blocking is not None:
        raise UserError(f"--out {out}: {blocking} is a file, not a folder; pick another --out")
    check_destination(path)  # a link out of its folder is refused before any work (issue 25)
    return path


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    if not 1 <= args.n <= MAX_N:
        raise UserError(f"--n must be 1 to {MAX_N} (one picture), got {args.n}; for more samples call the "
                        "SavedModel's generate endpoint in batches (docs/saved_model.md)")
    check_seed(args.seed)
    out = check_out(args.out)
    saved_model = find_saved_model(Path(args.path))
    info = read_export_info(saved_model)
    classes = info.get("num_classes")
    if args.label is not None and classes is None:
        raise UserError(f"--label needs a conditional model (cvae or cgan); {saved_model} holds a "
                        f"{info['family']}, which draws without labels")
    if args.label is not None and not 0 <= args.label < classes:
        raise UserError(f"--label {args.label} is not a class of this model; use 0 to {classes - 1}")
    import_tensorflow()
    if args.traverse:
        return traverse(Path(args.path), saved_model, info, out, args)
    import numpy as np

    from vae_gan_tf.report.plotting import save_image_grid, save_scatter, save_sequences

    loaded = load_saved_model(saved_model)
    if not hasattr(loaded, "sample"):
        raise UserError(f"{saved_model} has no 'sample' endpoint (a {info.get('family', 'model')} without a "
                        "prior cannot be sampled); use a VAE or GAN run")
    latent_dim = info["latent_dim"]
    rng = np.random.default_rng(args.seed)
    labels = None
    if args.interpolate:
        ends = rng.standard_normal((2, latent_dim))
        z = slerp(ends[0], ends[1], args.n)
        ncols = args.n
        if classes is not None:
            labels = np.full(args.n, args.label or 0)
    else:
        z = rng.standard_normal((args.n, latent_dim))
        ncols = None
        if classes is not None:  # one row per class, or all of class --label
            ncols = max(1, args.n // classes) if args.label is None else None
            labels = np.arange(args.n) // ncols % classes if args.label is None else np.full(args.n, args.label)
    images = prior_samples(loaded, info, z, labels)
    if images.ndim == 2:  # points (2-D toy data), not images
        save_scatter(images, out, title=f"{args.n} samples")
    elif images.ndim == 3:  # sequences (N, T, F)
        save_sequences(images, out, title=f"{args.n} samples")
    else:
        save_image_grid(images, out, tuple(info["pixel_range"]), ncols=ncols)
    print(f"wrote {out} ({args.n} {'interpolation steps' if args.interpolate else 'samples'})")
    return 0


def traverse(path: Path, saved_model: Path, info: dict, out: Path, args) -> int:
    """``--traverse``: the labelled traversal grid of a VAE run (module docstring)."""
    import numpy as np

    from vae_gan_tf.config import load_config
    from vae_gan_tf.data.held_out import held_out_images
    from vae_gan_tf.data.pixels import from_unit_range
    from vae_gan_tf.data.source_names import has_factors
    from vae_gan_tf.report.plotting import save_traversal_grid
    from vae_gan_tf.runs.folder import CONFIG_FILE
    from vae_gan_tf.runs.saved_model import traversal_codes

    if args.interpolate or args.label is not None:
        raise UserError("--traverse draws one grid of its own; leave out --interpolate and --label")
    config_path = path / CONFIG_FILE
    if not config_path.is_file() or len(info["image_shape"]) != 3 or info.get("num_classes") is not None:
        raise UserError(f"--traverse needs the run folder of an unconditional image VAE (its config.yaml and "
                        f"held-out images); {path} is not one")
    loaded = load_saved_model(saved_model)
    if not hasattr(loaded, "encode") or not hasattr(loaded, "decode"):
        raise UserError(f"--traverse needs an encoder and a decoder; {saved_model} holds a {info['family']}")
    config = load_config(config_path)
    columns = 10 if args.n == 64 else args.n  # --n's default is the grid's 64 samples
    values = np.linspace(-3.0, 3.0, columns)
    image, _ = held_out_images(config, n=1, seed=args.seed)
    code = loaded.encode(from_unit_range(image, tuple(info["pixel_range"])).astype(np.float32))
    code = (code[0] if isinstance(code, (list, tuple)) else code).numpy()[0]
    decoded = np.concatenate([loaded.decode(chunk).numpy() for chunk in
                              np.array_split(traversal_codes(code, values), max(1, len(code) * columns // 500))])
    rows = decoded.reshape((len(code), columns) + tuple(info["image_shape"]))
    labels = [f"z{d}" for d in range(len(code))]
    if has_factors(config.data.source):
        from vae_gan_tf.data.dsprites import factor_grid
        from vae_gan_tf.evaluation.disentanglement_scores import encoded_pool
        from vae_gan_tf.evaluation.metrics.disentanglement import mig

        grid = factor_grid(config.data.source, config.data.image_size)
        codes, classes = encoded_pool(loaded, info, grid, n=10000, seed=args.seed)
        information = mig(codes, classes)["mutual_information"]  # (D, K), nats
        labels = [f"z{d}: {grid.factor_names[int(np.argmax(information[d]))]} "
                  f"({information[d].max():.2f} nats)" for d in range(len(code))]
    save_traversal_grid(rows, out, labels, values, tuple(info["pixel_range"]),
                        title=f"latent traversals of {path.name} around a held-out image")
    print(f"wrote {out} ({len(code)} latent dimensions x {columns} values from -3 to 3)")
    return 0


if __name__ == "__main__":
    run_cli(main)
