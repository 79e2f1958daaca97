"""The real set's cached features and statistics (evaluation/reference_stats.py): computed in chunks with the
float64 moments of the whole set, read back on a second evaluation, recomputed when the images, the basis or
the stored files change."""

import numpy as np
import pytest


class CountingExtractor:
    """A stand-in feature network: per-image channel means and a few pixels, counting the images it sees."""

    def __init__(self):
        self.seen = 0

    def __call__(self, images, progress=None):
        self.seen += len(images)
        flat = images.reshape(len(images), -1)
        if progress is not None:
            progress.add(len(images))
        return np.concatenate([flat[:, :6], flat.mean(axis=1, keepdims=True)], axis=1).astype(np.float32), None


def basis(n=2500, source="digits"):
    from vae_gan_tf.evaluation.run_metrics import evaluation_basis

    return evaluation_basis("identity", source, n, 0, (8, 8, 1))


@pytest.fixture()
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("VAE_GAN_TF_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_chunked_moments_equal_the_whole_set_statistics():
    from vae_gan_tf.evaluation.metrics.fid import feature_statistics
    from vae_gan_tf.evaluation.reference_stats import RunningMoments

    rows = np.random.default_rng(0).normal(1000.0, 1.0, (2300, 5))  # a large offset: no cancellation
    moments = RunningMoments()
    for start in range(0, len(rows), 1000):
        moments.add(rows[start:start + 1000])
    mean, covariance = moments.result()
    expected_mean, expected_covariance = feature_statistics(rows)
    np.testing.assert_allclose(mean, expected_mean, rtol=0, atol=1e-9)
    np.testing.assert_allclose(covariance, expected_covariance, rtol=1e-9, atol=1e-12)


def test_second_evaluation_reads_the_cache_and_a_change_invalidates_it(cache):
    from vae_gan_tf.evaluation.progress import Progress
    from vae_gan_tf.evaluation.reference_stats import reference_statistics, stats_dir

    images = np.random.default_rng(1).random((2500, 8, 8, 1)).astype(np.float32)
    extractor = CountingExtractor()
    first = reference_statistics(extractor, basis(), images)
    assert not first.from_cache and extractor.seen == 2500 and first.features.shape == (2500, 7)
    np.testing.assert_array_equal(first.features, extractor(images)[0])
    extractor.seen = 0
    progress = Progress(2500, verbose=False)
    second = reference_statistics(extractor, basis(), images, progress)
    assert second.from_cache and extractor.seen == 0  # only read
    np.testing.assert_array_equal(second.mean, first.mean)
    np.testing.assert_array_equal(second.covariance, first.covariance)
    assert second.path.parent == stats_dir("identity")

    changed = images.copy()
    changed[7, 3, 3, 0] += 0.5  # the source file changed: another key
    third = reference_statistics(extractor, basis(), changed)
    assert not third.from_cache and extractor.seen == 2500
    assert not np.allclose(third.mean, first.mean, rtol=0, atol=1e-12)

    extractor.seen = 0
    other_network = dict(basis(), features_id="identity:another-network")
    assert not reference_statistics(extractor, other_network, images).from_cache and extractor.seen == 2500

    extractor.seen = 0
    mean_file = first.path.with_name(first.path.stem + ".mean.npy")
    mean_file.write_bytes(mean_file.read_bytes()[:-1] + b"\x01")  # a damaged entry is recomputed
    again = [reference_statistics(extractor, b, x) for b, x in ((basis(), images), (basis(), changed))]
    assert extractor.seen == 2500 and sum(not r.from_cache for r in again) == 1


def test_a_second_evaluate_run_costs_only_the_samples(tiny_run, tmp_path, monkeypatch):
    """evaluate_run twice against the same real set: the second reads the real statistics from the cache and
    gives the same FID, KID and precision/recall."""
    from vae_gan_tf.evaluation.features import train_classifier_for
    from vae_gan_tf.evaluation.run_metrics import evaluate_run

    monkeypatch.setenv("VAE_GAN_TF_CACHE", str(tmp_path / "cache"))
    train_classifier_for("digits", epochs=1, verbose=0)
    first = evaluate_run(tiny_run, metrics=["fid", "kid", "pr"], n=200, verbose=False)
    second = evaluate_run(tiny_run, metrics=["fid", "kid", "pr"], n=200, verbose=False)
    assert first["reference_stats_cached"] is False and second["reference_stats_cached"] is True
    for key, value in first["metrics"].items():
        assert second["metrics"][key] == pytest.approx(value, rel=1e-9, abs=1e-12), key


def test_progress_shows_rate_and_time_left():
    import io

    from vae_gan_tf.evaluation.progress import Progress

    stream = io.StringIO()
    progress = Progress(100, "samples on fid_inception", stream=stream, every=0.0)
    progress.add(40)
    progress.add(60)
    lines = stream.getvalue().splitlines()
    assert "40/100" in lines[0] and "images/s" in lines[0] and "left" in lines[0]
    assert "100/100" in lines[-1] and "total" in lines[-1]
