"""python -m vae_gan_tf.denoise RUN --noise gaussian:S|salt_pepper:P|mask:P [--n 16] [--out grid.png]
[--steps N] [--metrics] [--metrics-n 500] [--seed S]

Removes noise from held-out images (doc 004 §5, 降噪): the VAE family's reconstruction, the GAN family's
projection onto the generator's range (models/completion.py, every pixel known). The model is not told which
pixels the noise touched. Prints the PSNR of the noisy and the denoised images against the clean ones;
``--metrics`` measures it on ``--metrics-n`` images and records it in ``RUN/uses.json``.
"""

from __future__ import annotations

import argparse

from vae_gan_tf.cli.arguments import add_restoration_args, add_version, check_image_run, check_restoration_args
from vae_gan_tf.cli.tensorflow_import import import_tensorflow
from vae_gan_tf.errors import run_cli
from vae_gan_tf.runs.folder import USES
from vae_gan_tf.uses.masks_and_noise import NOISE_KINDS, check_noise_spec


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m vae_gan_tf.denoise", description="Denoise noisy held-out images with a trained run."
    )
    parser.add_argument("run", help="run folder written by python -m vae_gan_tf.train")
    parser.add_argument("--noise", default="gaussian:0.3", help=f"one of {', '.join(NOISE_KINDS)}")
    parser.add_argument("--n", type=int, default=16, help="images in the grid (default 16)")
    parser.add_argument("--out", default="denoised.png", help="PNG grid to write")
    parser.add_argument("--steps", type=int, help="GAN family: Adam steps on z (default 300)")
    return add_version(add_restoration_args(parser, "which held-out images, and the noise"))


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    noise = check_noise_spec(args.noise)
    check_restoration_args(args)
    from vae_gan_tf.runs.saved_model import find_saved_model, read_export_info

    check_image_run(args.run, read_export_info(find_saved_model(args.run)), "denoise")
    import_tensorflow()
    from vae_gan_tf.data.corruption import corrupt
    from vae_gan_tf.uses.restorer import DEFAULT_STEPS, Restorer, held_out, record, save_rows
    from vae_gan_tf.uses.scores import denoising_scores

    restorer = Restorer(args.run)
    steps = args.steps or DEFAULT_STEPS["project"]
    count = max(args.n, args.metrics_n) if args.metrics else args.n
    images, labels, _ = held_out(restorer.run_dir, count, args.seed, restorer.conditional)
    noisy = corrupt(images, noise, args.seed)
    denoised = restorer.denoise(noisy, labels, steps)
    shown = slice(0, args.n)
    title = f"{restorer.info['family']}, noise {noise}: clean / noisy / denoised"
    save_rows([images[shown], noisy[shown], denoised[shown]], args.out, title)
    scores = denoising_scores(images, noisy, denoised)
    print(
        f"wrote {args.out}; PSNR on {scores['images']} held-out images: noisy {scores['psnr_noisy']:.2f} dB, "
        f"denoised {scores['psnr_denoised']:.2f} dB ({scores['psnr_gain']:+.2f} dB)"
    )
    if args.metrics:
        save_rows(
            [images[shown], noisy[shown], denoised[shown]],
            restorer.run_dir / USES / f"denoise_{noise.replace(':', '')}.png",
            title,
        )
        if restorer.endpoint == "project":  # the VAE family's reconstruction has no steps
            scores["steps"] = steps
        print(f"wrote {record(restorer.run_dir, 'denoising', noise, scores)}")
    return 0


if __name__ == "__main__":
    run_cli(main)
