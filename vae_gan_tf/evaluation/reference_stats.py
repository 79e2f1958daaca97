"""The real set's features, mean and covariance on one feature network, computed once and cached with checksums.

One entry per feature network, source, split, n, seed and image shape, beside the network's own cache (issue 22).

The key is the evaluation basis (``run_metrics.evaluation_basis``: the extractor and its weights' SHA-1,
the source, split, n, seed and shape) together with the SHA-1 of the real images themselves, so a changed
source file, a changed selection or a changed network (its SHA-1 is in the basis) gives another key and the
old entry is never read. Features are extracted in chunks of ``CHUNK`` images and written to a ``.npy``
on disk as they come; the mean and the covariance are accumulated in float64 about a shift (the first
chunk's mean) so that no cancellation loses digits, and no more than one chunk is held in memory. ``evaluate``,
``compare`` (through ``evaluate_run``), the per-epoch evaluation and the benchmarks all read it.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vae_gan_tf.runs.folder import cache_root, file_digest

CHUNK = 1000  # images per extractor call; one chunk's features are all that is held in memory
FORMAT = 1  # bump when what is stored changes


def stats_dir(kind: str) -> Path:
    """Beside the feature network's own cache: ``fid_inception/``, ``classifiers/`` or ``inception/``."""
    folder = {"fid_inception": "fid_inception", "classifier": "classifiers"}.get(kind, kind)
    return cache_root() / folder / "reference_stats"


def images_sha1(images: np.ndarray) -> str:
    array = np.ascontiguousarray(images, np.float32)
    digest = hashlib.sha1(str(array.shape).encode())
    digest.update(memoryview(array).cast("B"))
    return digest.hexdigest()


def cache_key(basis: dict, images_digest: str) -> str:
    text = json.dumps({"format": FORMAT, "basis": basis, "images_sha1": images_digest}, sort_keys=True)
    return hashlib.sha1(text.encode()).hexdigest()


@dataclass
class ReferenceStats:
    """The real set on one feature network: features (n, d) float32 (a read-only memory map when read
    from the cache), mean (d,) and covariance (d, d) in float64, and whether they came from the cache."""

    features: np.ndarray
    mean: np.ndarray
    covariance: np.ndarray
    from_cache: bool
    path: Path | None = None


class RunningMoments:
    """Mean and unbiased covariance of rows added in chunks, accumulated in float64 about a fixed shift."""

    def __init__(self):
        self.n, self.shift, self.total, self.outer = 0, None, None, None

    def add(self, rows: np.ndarray) -> None:
        rows = np.asarray(rows, np.float64)
        if self.shift is None:
            self.shift = rows.mean(axis=0)
            self.total = np.zeros_like(self.shift)
            self.outer = np.zeros((rows.shape[1], rows.shape[1]))
        centred = rows - self.shift
        self.n += len(rows)
        self.total += centred.sum(axis=0)
        self.outer += centred.T @ centred

    def result(self) -> tuple[np.ndarray, np.ndarray]:
        mean_shifted = self.total / self.n
        covariance = (self.outer - self.n * np.outer(mean_shifted, mean_shifted)) / (self.n - 1)
        return self.shift + mean_shifted, 0.5 * (covariance + covariance.T)


def read_cached(folder: Path, key: str) -> ReferenceStats | None:
    meta_path = folder / f"{key}.json"
    if not meta_path.is_file():
        return None
    try:
        meta = json.loads(meta_path.read_text())
        files = {name: folder / f"{key}.{name}.npy" for name in ("features", "mean", "covariance")}
        if any(file_digest(path) != meta["sha1"][name] for name, path in files.items()):
            return None  # a damaged entry is recomputed, never read
        return ReferenceStats(np.load(files["features"], mmap_mode="r"), np.load(files["mean"]),
                              np.load(files["covariance"]), True, meta_path)
    except (OSError, ValueError, KeyError, TypeError, RecursionError):  # any damage: recomputed
        return None


def reference_statistics(extractor, basis: dict, images: np.ndarray, progress=None,
                         use_cache: bool = True) -> ReferenceStats:
    """The features and statistics of ``images`` (the real set described by ``basis``) on ``extractor``:
    read from the cache when an entry of this key exists with matching checksums, else computed in chunks
    and stored (atomically: a half-written entry is never found)."""
    folder = stats_dir(basis["features"])
    key = cache_key(basis, images_sha1(images))
    if use_cache:
        found = read_cached(folder, key)
        if found is not None:
            return found  # the progress bar stays silent: nothing is extracted
    folder.mkdir(parents=True, exist_ok=True)
    moments = RunningMoments()
    with tempfile.TemporaryDirectory(dir=folder) as scratch:
        staged = {name: Path(scratch) / f"{key}.{name}.npy" for name in ("features", "mean", "covariance")}
        stored = None
        for start in range(0, len(images), CHUNK):
            feats, _ = extractor(images[start:start + CHUNK], progress)
            if stored is None:
                stored = np.lib.format.open_memmap(staged["features"], "w+", np.float32,
                                                   (len(images), feats.shape[1]))
            stored[start:start + len(feats)] = feats
            moments.add(feats)
        stored.flush()
        del stored
        mean, covariance = moments.result()
        np.save(staged["mean"], mean)
        np.save(staged["covariance"], covariance)
        meta = {"format": FORMAT, "basis": basis, "n": len(images), "images_sha1": images_sha1(images),
                "sha1": {name: file_digest(path) for name, path in staged.items()}}
        (Path(scratch) / f"{key}.json").write_text(json.dumps(meta, indent=1))
        for name, path in staged.items():
            os.replace(path, folder / path.name)
        os.replace(Path(scratch) / f"{key}.json", folder / f"{key}.json")  # the entry exists from here on
    result = read_cached(folder, key)
    result.from_cache = False
    return result
