"""python -m vae_gan_tf.complete RUN --mask center|left|top|random:P|FILE.png [--n 16] [--out grid.png]
[--steps N] [--metrics] [--metrics-n 500] [--seed S]

Fills the missing pixels of held-out images (doc 002 §1.5, 图像补充): the VAE family by Rezende et al.
2014's chain, the GAN family by Yeh et al. 2017's latent optimisation (models/completion.py), from the run's
SavedModel. The grid shows originals, masked inputs (missing pixels grey) and completions. ``--metrics``
scores ``--metrics-n`` held-out images: MSE and PSNR over the missing pixels only, and the feature
classifier's accuracy on the completions against the true labels, into ``RUN/uses.json``. Conditional
models are given each image's true label.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from vae_gan_tf.cli.arguments import add_restoration_args, add_version, check_image_run, check_restoration_args
from vae_gan_tf.cli.tensorflow_import import import_tensorflow
from vae_gan_tf.errors import run_cli
from vae_gan_tf.runs.folder import USES
from vae_gan_tf.uses.masks_and_noise import MASK_KINDS, check_mask_spec


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m vae_gan_tf.complete",
        description="Complete masked held-out images with a trained run.",
    )
    parser.add_argument("run", help="run folder written by python -m vae_gan_tf.train")
    parser.add_argument("--mask", default="center", help=f"one of {', '.join(MASK_KINDS)} (default center)")
    parser.add_argument("--n", type=int, default=16, help="images in the grid (default 16)")
    parser.add_argument("--out", default="completion.png", help="PNG grid to write")
    parser.add_argument(
        "--steps",
        type=int,
        help="chain iterations (VAE family, default 50) or Adam steps on z (GAN family, default 300)",
    )
    return add_version(add_restoration_args(parser, "which held-out images, and random masks"))


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    mask_spec = check_mask_spec(args.mask)
    check_restoration_args(args)
    from vae_gan_tf.runs.saved_model import find_saved_model, read_export_info
    from vae_gan_tf.uses.masks_and_noise import make_masks

    shape = check_image_run(args.run, read_export_info(find_saved_model(args.run)), "complete")
    if len(shape) == 3 and not mask_spec.startswith("random:"):  # a mask that cannot fit fails before TF
        make_masks(mask_spec, (1, *shape), args.seed)
    import_tensorflow()
    from vae_gan_tf.uses.restorer import DEFAULT_STEPS, Restorer, held_out, record, save_rows
    from vae_gan_tf.uses.scores import completion_scores

    restorer = Restorer(args.run)
    steps = args.steps or DEFAULT_STEPS[restorer.endpoint]
    count = max(args.n, args.metrics_n) if args.metrics else args.n
    images, labels, config = held_out(restorer.run_dir, count, args.seed, restorer.conditional)
    masks = make_masks(mask_spec, images.shape, args.seed)
    if args.metrics and labels is not None:
        from vae_gan_tf.evaluation.features import make_extractor

        make_extractor("classifier", config.data.source)  # a missing classifier fails before the work
    completed = restorer.complete(images, masks, labels, steps)  # the grid shows the first --n
    shown = slice(0, args.n)
    masked = images[shown] * masks[shown] + 0.5 * (1.0 - masks[shown])
    rows = [images[shown], masked, completed[shown]]
    title = f"{restorer.info['family']} {restorer.endpoint} ({steps} steps), mask {mask_spec}"
    save_rows(rows, args.out, f"{title}: originals / masked / completed")
    print(f"wrote {args.out} ({len(rows[0])} completions, {restorer.endpoint} with {steps} steps)")
    if args.metrics:
        name = Path(mask_spec).stem if mask_spec.endswith(".png") else mask_spec
        first = slice(0, args.metrics_n)
        scores = completion_scores(images[first], None if labels is None else labels[first], masks[first],
                                   completed[first], steps, config.data.source)
        save_rows(rows, restorer.run_dir / USES / f"complete_{name.replace(':', '')}.png",
                  f"{title}: originals / masked / completed")
        path = record(restorer.run_dir, "completion", name, scores)
        print("  ".join(f"{k}={v}" for k, v in scores.items()))
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    run_cli(main)
