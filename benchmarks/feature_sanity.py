"""Do the evaluation features see blur, noise and missing modes? And do the extractors rank runs alike?

Held-out real images (the source's test split) and known degradations of them (vae_gan_tf/data/corruption.py:
Gaussian blur σ = 0.5, 1, 2 px; additive noise; salt and pepper; 1, 3 and 5 classes dropped; a VAE's
reconstructions with ``--vae-run``) are measured against clean training images: FID, KID, precision and
recall on every extractor that is available. A good extractor gives the clean held-out images the lowest
FID and ranks each degradation worse as it grows. With ``--runs``, each extractor also ranks those runs'
samples by FID (trains nothing), so one sees whether the extractors agree.

    python benchmarks/feature_sanity.py --data idx:../shared/data/mnist --n 2000 --n-inception 300 \
        --vae-run /tmp/r15/vae --runs /tmp/r15/vae /tmp/r15/dcgan --out benchmarks/results/feature_sanity
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np

LEVELS = {"blur": (0.5, 1.0, 2.0), "noise": (0.1, 0.25), "salt_pepper": (0.05, 0.2),
          "drop_classes": (1, 3, 5)}
SLOW = {"inception", "fid_inception"}  # ~0.1-0.4 s per image on 2 shared cores: --n-inception images


def degraded_sets(held, labels, n: int, vae_run: Path | None) -> dict:
    """{name: images}: the clean held-out images, each degradation at each level, and reconstructions."""
    from vae_gan_tf.data import corruption as d

    clean = held[:n]
    sets = {"clean": clean}
    sets.update({f"blur {s:g}": d.gaussian_blur(clean, s) for s in LEVELS["blur"]})
    sets.update({f"noise {s:g}": d.additive_noise(clean, s, seed=1) for s in LEVELS["noise"]})
    sets.update({f"salt_pepper {f:g}": d.salt_and_pepper(clean, f, seed=2) for f in LEVELS["salt_pepper"]})
    sets.update({f"drop_classes {k}": d.drop_classes(held, labels, k, n) for k in LEVELS["drop_classes"]})
    if vae_run is not None:
        sets["vae reconstructions"] = reconstructions(vae_run, clean)
    return sets


def reconstructions(run_dir: Path, images: np.ndarray) -> np.ndarray:
    import tensorflow as tf

    from vae_gan_tf.data.pixels import to_unit_range
    from vae_gan_tf.runs.saved_model import load_saved_model, read_export_info

    info = read_export_info(run_dir / "saved_model")
    loaded = load_saved_model(run_dir / "saved_model")
    low, high = info["pixel_range"]
    scaled = images if (low, high) == (0.0, 1.0) else images * 2.0 - 1.0
    out = np.concatenate([loaded.reconstruct(tf.constant(scaled[i:i + 500])).numpy()
                          for i in range(0, len(images), 500)])
    return to_unit_range(out, (low, high))


def scores(real_f, fake_f) -> dict:
    from vae_gan_tf.evaluation.metrics.fid import fid_from_features
    from vae_gan_tf.evaluation.metrics.kid import kid_from_features
    from vae_gan_tf.evaluation.metrics.precision_recall import precision_recall

    kid, _ = kid_from_features(real_f, fake_f, subsets=50, subset_size=min(1000, len(real_f)), seed=0)
    precision, recall = precision_recall(real_f, fake_f, k=3)
    return {"fid": fid_from_features(real_f, fake_f), "kid": float(kid), "precision": float(precision),
            "recall": float(recall)}


def monotone(table: dict) -> dict:
    """For each degradation: does FID (and KID) rise strictly from clean through every level?"""
    result = {}
    for family, levels in LEVELS.items():
        names = ["clean"] + [f"{family} {level:g}" for level in levels]
        result[family] = {m: bool(all(table[a][m] < table[b][m] for a, b in zip(names, names[1:])))
                          for m in ("fid", "kid")}
    return result


def merge(extractors: dict, kind: str, entry: dict) -> None:
    """Adds ``entry`` to ``extractors[kind]``; empty values (a --runs-only pass's sets) keep earlier ones."""
    kept = extractors.setdefault(kind, {})
    kept.update({k: v for k, v in entry.items() if v or k not in kept})


def make_extractor(kind: str, data: str, epochs: int):
    from vae_gan_tf.errors import UserError
    from vae_gan_tf.evaluation.features import train_classifier_for
    from vae_gan_tf.evaluation import features

    if kind == "classifier" and not features.classifier_path(data).is_file():
        print(f"training the classifier for {data}")
        train_classifier_for(data, epochs, verbose=2)
    try:
        return features.make_extractor(kind, data), None
    except UserError as err:
        return None, str(err)


def markdown(result: dict) -> str:
    row = "| {} | {fid:.3f} | {kid:.4f} | {precision:.3f} | {recall:.3f} |"
    lines = [f"# Feature sanity on {result['data']}", "",
             "FID / KID / precision / recall of held-out real images and their degradations against clean "
             "training images. A good extractor rises with every degradation level.", ""]
    for kind, entry in result["extractors"].items():
        if "unavailable" in entry:
            lines += [f"## {kind}: not measured", "", entry["unavailable"], ""]
            continue
        lines += [f"## {kind} (n = {entry['n']} per set)", ""]
        if entry["sets"]:
            lines += ["| images | FID | KID | precision | recall |", "|---|---|---|---|---|"]
            lines += [row.format(name, **s) for name, s in entry["sets"].items()]
            lines += ["", "Rises with every level: " + ", ".join(
                f"{family} FID {'yes' if m['fid'] else 'NO'} / KID {'yes' if m['kid'] else 'NO'}"
                for family, m in entry["monotone"].items()), ""]
        else:
            lines += ["Degradations not measured in this result.", ""]
        if entry.get("runs"):
            lines += ["| run | FID | KID | precision | recall |", "|---|---|---|---|---|"]
            lines += [row.format(name, **s) for name, s in entry["runs"].items()]
            lines += ["", f"Ranking by FID (best first): {' < '.join(entry['ranking_fid'])}", ""]
    if result.get("agreement"):
        lines += ["## Agreement", "", result["agreement"], ""]
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="idx:../shared/data/mnist", help="labelled, with a test split")
    parser.add_argument("--n", type=int, default=2000, help="images per set for the classifier")
    parser.add_argument("--n-inception", type=int, default=300, help="images per set for the Inceptions")
    parser.add_argument("--extractors", default="classifier,inception,fid_inception")
    parser.add_argument("--vae-run", type=Path, help="a VAE run: its reconstructions of the held-out images")
    parser.add_argument("--runs", type=Path, nargs="*", default=[], help="runs to rank on every extractor")
    parser.add_argument("--classifier-epochs", type=int, default=10)
    parser.add_argument("--runs-only", action="store_true", help="rank --runs, skip the degradations")
    parser.add_argument("--previous", type=Path, nargs="*", default=[],
                        help="earlier result JSONs to merge (their extractors, sets and runs are kept)")
    parser.add_argument("--out", default="benchmarks/results/feature_sanity")
    args = parser.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from vae_gan_tf.data.sources import load_source
    from vae_gan_tf.evaluation.run_metrics import generated_samples

    train, test = load_source(args.data, "train"), load_source(args.data, "test")
    order = np.random.default_rng(0).permutation(len(train.images))
    reference = train.images[order]
    held_order = np.random.default_rng(1).permutation(len(test.images))
    held, held_labels = test.images[held_order], test.labels[held_order]
    result = {"data": args.data, "reference": "training split, seed-0 permutation",
              "held_out": "test split, seed-1 permutation", "levels": LEVELS, "extractors": {}}
    for previous in args.previous:  # earlier measurements of other extractors, or of the same one's sets
        for kind, entry in json.loads(previous.read_text())["extractors"].items():
            merge(result["extractors"], kind, entry)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    for kind in [k for k in args.extractors.split(",") if k]:  # --extractors "" only merges --previous
        extractor, reason = make_extractor(kind, args.data, args.classifier_epochs)
        if extractor is None:
            result["extractors"][kind] = {"unavailable": reason}
            print(f"{kind}: {reason}")
            continue
        n = args.n_inception if kind in SLOW else args.n
        start = time.perf_counter()
        real_f, _ = extractor(reference[:n])
        entry = {"n": n, "sets": {}}
        sets = {} if args.runs_only else degraded_sets(held, held_labels, n, args.vae_run)
        for name, images in sets.items():
            entry["sets"][name] = scores(real_f, extractor(images)[0])
            print(kind, name, {k: round(v, 4) for k, v in entry["sets"][name].items()}, flush=True)
        entry["monotone"] = monotone(entry["sets"]) if sets else {}
        entry["runs"] = {}
        for run_dir in args.runs:
            samples, _ = generated_samples(run_dir, n, seed=0)
            entry["runs"][run_dir.name] = scores(real_f, extractor(samples)[0])
            print(kind, run_dir.name, entry["runs"][run_dir.name], flush=True)
        entry["ranking_fid"] = sorted(entry["runs"], key=lambda r: entry["runs"][r]["fid"])
        entry["seconds"] = time.perf_counter() - start
        merge(result["extractors"], kind, entry)
        out.with_suffix(".json").write_text(json.dumps(result, indent=2))  # partial results survive
    rankings = {k: tuple(e["ranking_fid"]) for k, e in result["extractors"].items() if e.get("ranking_fid")}
    if len(rankings) > 1:
        agree = len(set(rankings.values())) == 1
        result["agreement"] = ("The extractors agree on the ranking." if agree else
                               "The extractors DISAGREE: " +
                               "; ".join(f"{k}: {' < '.join(r)}" for k, r in rankings.items()))
    out.with_suffix(".json").write_text(json.dumps(result, indent=2))
    out.with_suffix(".md").write_text(markdown(result))
    print(markdown(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
