"""The two-stage VAE (models/vae/two_stage_vae.py): stage 2 on frozen stage-1 codes, its fit segments, export and resume."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import TINY_OVERRIDES, call_saved_model, history_rows

TWO_STAGE = ["model.name=two_stage_vae", "model.second_stage_units=16", "model.second_stage_depth=2"]


def test_fit_segments_end_at_the_stage_boundary():
    from vae_gan_tf.training.callbacks import Position
    from vae_gan_tf.training.fit import fit_segments

    assert fit_segments(Position(), 5, 3) == [(0, 3, 0), (3, 5, 0)]
    assert fit_segments(Position(epoch=1, step=2, steps_per_epoch=4), 5, 2) == [(1, 2, 2), (2, 5, 0)]
    assert fit_segments(Position(epoch=3, step=1, steps_per_epoch=4), 5, 3) == [(3, 4, 1), (4, 5, 0)]


def test_second_stage_trains_on_frozen_first_stage_codes(tmp_path):
    import keras

    from vae_gan_tf.config import load_config
    from vae_gan_tf.data.pipeline import make_datasets
    from vae_gan_tf.models.catalog import build_model, compile_model

    config = load_config(None, [*TINY_OVERRIDES, *TWO_STAGE])
    data = make_datasets(config)
    model = compile_model(build_model(config, data.image_shape), config)
    model.fit(data.train, epochs=1, steps_per_epoch=3, verbose=0, shuffle=False)
    first = [w.numpy().copy() for w in model.first_stage_variables]
    second = [w.numpy().copy() for w in model.second_stage_variables]
    assert int(model.second_stage_optimizer.iterations) == 0
    model.set_stage(2)
    model.fit(data.train, epochs=1, steps_per_epoch=3, verbose=0, shuffle=False)
    assert all(np.array_equal(a, w.numpy()) for a, w in zip(first, model.first_stage_variables))
    assert not any(np.array_equal(a, w.numpy()) for a, w in zip(second, model.second_stage_variables))
    assert int(model.optimizer.iterations) == 3 and int(model.second_stage_optimizer.iterations) == 3
    u = np.random.default_rng(0).standard_normal((5, model.latent_dim)).astype(np.float32)
    mean = model.second_decode(u).numpy()
    draws = model.second_sample(np.repeat(u, 400, axis=0)).numpy().reshape(5, 400, -1)
    gamma = float(np.exp(model.second_log_gamma.numpy()))
    np.testing.assert_allclose(draws.mean(axis=1), mean, atol=0.25)  # z ~ N(mu(u), gamma I): 4 sd of the mean
    np.testing.assert_allclose(draws.std(axis=1), np.sqrt(gamma), rtol=0.25)
    model.second_gamma_parameter.assign(-40.0)  # gamma -> 0: the draw is mu(u), Dai & Wipf's sample
    through_both = model.decode(mean).numpy()
    np.testing.assert_allclose(model.generate(u).numpy(), through_both, atol=1e-6)
    model.save(tmp_path / "m.keras")  # both Adams survive a reload
    reloaded = keras.models.load_model(tmp_path / "m.keras")
    assert reloaded.stage == 2 and int(reloaded.second_stage_optimizer.iterations) == 3
    np.testing.assert_allclose(reloaded.generate(u).numpy(), through_both, atol=1e-6)


def test_second_stage_on_a_known_gaussian_latent_recovers_its_variance():
    """Codes z ~ N(0, diag v): the ELBO's optimum is exact for this linear-Gaussian case, so the ancestral
    sample u ~ N(0, I), z ~ N(μ(u), γ_z I) must have variance v, with γ_z at most the smallest v."""
    import keras
    import tensorflow as tf

    from vae_gan_tf.config import load_config
    from vae_gan_tf.models.catalog import build_model, compile_model

    keras.utils.set_random_seed(0)
    config = load_config(None, [*TINY_OVERRIDES, *TWO_STAGE, "model.second_stage_units=64",
                                "model.second_stage_skip=true", "model.second_stage_learning_rate=3e-3"])
    model = compile_model(build_model(config, (8, 8, 1)), config)
    model.set_stage(2)
    variances = np.array([0.25, 1.0, 4.0, 0.04], np.float32)
    rng = np.random.default_rng(0)
    step = tf.function(model.second_stage_update)
    for _ in range(2000):
        terms = step(tf.constant((rng.standard_normal((256, 4)) * np.sqrt(variances)).astype(np.float32)))
    draws = model.second_sample(rng.standard_normal((20000, 4)).astype(np.float32)).numpy()
    np.testing.assert_allclose(draws.var(axis=0), variances, rtol=0.2)
    np.testing.assert_allclose(draws.mean(axis=0), 0.0, atol=0.1)
    assert float(terms["kl"]) > 1.0 and float(terms["second_gamma"]) < 0.06  # no collapse: KL > 0, γ_z small


def test_two_stage_run_exports_sampling_through_both_decoders(classifier_cache, tmp_path):
    from vae_gan_tf.config import load_config
    from vae_gan_tf.training.fit import train_run

    run_dir = tmp_path / "two_stage"
    config = load_config(None, [*TINY_OVERRIDES, *TWO_STAGE, "train.epochs=1", "model.second_stage_epochs=1",
                                "train.steps_per_epoch=2", "model.likelihood=gaussian_learned",
                                "model.second_stage_skip=true"])
    train_run(config, run_dir, verbose=0)
    rows = history_rows(run_dir)
    assert [row["epoch"] for row in rows] == ["0", "1"]
    gammas = [(float(row["gamma"]), float(row["second_gamma"])) for row in rows]  # both stages' γ, each epoch
    assert gammas[0][0] < 1.0 and gammas[0][1] == 1.0  # stage 1 trains its γ, stage 2's is still at 1
    assert gammas[1][0] == pytest.approx(float(rows[0]["val_gamma"]), rel=1e-6)  # then stage 1's is frozen
    assert gammas[1][1] != 1.0  # stage 2 trains its own
    assert "stage 2 from epoch 2" in (run_dir / "train.log").read_text()
    u = np.repeat(np.random.default_rng(1).standard_normal((3, 4)).astype(np.float32), 500, axis=0)
    out = call_saved_model(run_dir / "saved_model", {"u": u},
                           {"sample": ["sample", ["u"]], "z": ["second_decode", ["u"]],
                            "draw": ["second_sample", ["u"]]}, tmp_path)
    assert len(out["sample"]) == 1500 and 0 <= out["sample"].min() <= out["sample"].max() <= 1
    # the draws scatter around E[z|u] with one variance gamma for every dimension
    draws, mean = out["draw"].reshape(3, 500, 4), out["z"].reshape(3, 500, 4)[:, 0]
    np.testing.assert_allclose(draws.mean(axis=1), mean, atol=0.25)
    spread = draws.std(axis=1)
    np.testing.assert_allclose(spread, spread.mean(), rtol=0.25)


def test_stage_one_length_is_fixed_once_stage_two_began(tmp_path):
    from vae_gan_tf.config import dump_config, load_config
    from vae_gan_tf.errors import UserError
    from vae_gan_tf.training.callbacks import Position
    from vae_gan_tf.training.fit import check_stage_boundary

    dump_config(load_config(None, [*TWO_STAGE, "train.epochs=2"]), tmp_path / "config.yaml")
    longer = load_config(None, [*TWO_STAGE, "train.epochs=4"])
    check_stage_boundary(tmp_path, longer, Position(epoch=2, steps_per_epoch=5))  # stage 1 may still grow
    with pytest.raises(UserError, match="raise model.second_stage_epochs"):
        check_stage_boundary(tmp_path, longer, Position(epoch=2, step=1, steps_per_epoch=5))
