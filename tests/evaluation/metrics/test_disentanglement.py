"""Known answers of the disentanglement metrics (evaluation/metrics/disentanglement.py)."""

import numpy as np
import pytest

from vae_gan_tf.evaluation.metrics import disentanglement as d

SIZES = (3, 6, 10, 8, 8)


@pytest.fixture(scope="module")
def codes():
    rng = np.random.default_rng(0)
    factors = np.stack([rng.integers(0, s, 6000) for s in SIZES], axis=1)
    scaled = factors / np.array(SIZES)
    # a rotation that mixes the first four factors evenly (Hadamard / 2: every |entry| 1/2), the fifth kept
    hadamard = np.array([[1, 1, 1, 1], [1, -1, 1, -1], [1, 1, -1, -1], [1, -1, -1, 1]]) / 2.0
    rotation = np.eye(5)
    rotation[:4, :4] = hadamard
    return {"factors": factors, "identity": factors + 0.0, "rotated": scaled @ rotation,
            "noise": rng.standard_normal((6000, 5))}


def test_mig_by_hand_on_a_tiny_discrete_example():
    # two binary factors, independent in this sample (each pair twice); z0 = v0, z1 = v1, z2 = v0 with
    # its first value flipped
    v0 = np.array([0, 0, 1, 1, 0, 1, 0, 1])
    v1 = np.array([0, 1, 0, 1, 1, 0, 0, 1])
    z = np.stack([v0, v1, v0], axis=1).astype(float)
    z[0, 2] = 1.0  # z2 is v0 with its first value flipped
    found = d.mig(z, np.stack([v0, v1], axis=1), bins=2)
    # I(z0; v0) = H(v0) = log 2; I(z2; v0) from the 2x2 table [[3, 1], [0, 4]] / 8
    def information(counts):
        p = np.array(counts) / 8
        outer = p.sum(1, keepdims=True) * p.sum(0, keepdims=True)
        return np.sum(np.where(p > 0, p * np.log(np.where(p > 0, p / outer, 1)), 0))

    i_z2_v0 = information([[3, 1], [0, 4]])  # rows v0, columns z2
    i_z2_v1 = information([[1, 3], [2, 2]])  # rows v1, columns z2; I(z0; v1) = I(z1; v0) = 0
    expected = ((np.log(2) - i_z2_v0) + (np.log(2) - i_z2_v1)) / np.log(2) / 2
    assert found["mig"] == pytest.approx(expected, abs=1e-12)
    assert found["mutual_information"].shape == (3, 2)


def test_histogram_discretize_is_disentanglement_libs():
    z = np.array([[0.0], [0.5], [1.0], [0.26]])
    assert d.histogram_discretize(z, bins=4)[:, 0].tolist() == [1, 3, 4, 2]


def test_mig_known_answers(codes):
    f = codes["factors"]
    assert d.mig(codes["identity"], f)["mig"] > 0.99
    assert d.mig(codes["rotated"], f)["mig"] < 0.5
    assert d.mig(codes["noise"], f)["mig"] < 0.02


def test_beta_vae_and_factor_vae_known_answers(codes):
    f = codes["factors"]
    small = dict(train_points=1500, eval_points=800)
    ideal = d.beta_vae_score(codes["identity"], f, **small)["beta_vae_eval_accuracy"]
    assert ideal > 0.99
    # a linear classifier on |z1 - z2| still separates most rotated codes: the β-VAE metric is the lenient
    # one (Kim & Mnih 2018, §4), so a rotation only must not score higher
    assert d.beta_vae_score(codes["rotated"], f, **small)["beta_vae_eval_accuracy"] <= ideal
    assert d.beta_vae_score(codes["noise"], f, **small)["beta_vae_eval_accuracy"] < 0.3  # chance 0.2
    assert d.factor_vae_score(codes["identity"], f, **small)["factor_vae_eval_accuracy"] > 0.99
    assert d.factor_vae_score(codes["rotated"], f, **small)["factor_vae_eval_accuracy"] < 0.9
    assert d.factor_vae_score(codes["noise"], f, **small)["factor_vae_eval_accuracy"] < 0.3


def test_factor_vae_prunes_collapsed_dimensions(codes):
    f = codes["factors"]
    collapsed = np.concatenate([codes["identity"], np.full((len(f), 3), 0.5)
                                + 0.001 * np.random.default_rng(1).standard_normal((len(f), 3))], axis=1)
    found = d.factor_vae_score(collapsed, f, train_points=800, eval_points=400)
    assert found["factor_vae_active_dims"] == 5 and found["factor_vae_eval_accuracy"] > 0.99
    none = d.factor_vae_score(np.zeros((len(f), 4)), f, train_points=10, eval_points=10)
    assert none["factor_vae_active_dims"] == 0 and none["factor_vae_eval_accuracy"] == 0.0


def test_dci_known_answers(codes):
    f = codes["factors"]
    small = dict(train_points=600, eval_points=300)
    ideal = d.dci(codes["identity"], f, **small)
    assert ideal["dci_disentanglement"] > 0.95 and ideal["dci_completeness"] > 0.95
    assert ideal["dci_informativeness"] > 0.95
    noise = d.dci(codes["noise"], f, **small)
    assert noise["dci_disentanglement"] < 0.1 and noise["dci_informativeness"] < 0.4


def test_dci_from_importance_by_hand():
    assert d.disentanglement_from_importance(np.eye(3)) == pytest.approx(1.0, abs=1e-8)
    assert d.completeness_from_importance(np.eye(3)) == pytest.approx(1.0, abs=1e-8)
    assert d.disentanglement_from_importance(np.ones((3, 3))) == pytest.approx(0.0, abs=1e-8)
    # one code dimension informative about two factors equally: D = 1 - log_2(2) = 0 for it, C = 1
    r = np.array([[1.0, 1.0], [0.0, 0.0]])
    assert d.disentanglement_from_importance(r) == pytest.approx(0.0, abs=1e-6)
    assert d.completeness_from_importance(r) == pytest.approx(1.0, abs=1e-6)


def test_bad_input_is_a_value_error():
    with pytest.raises(ValueError):
        d.mig(np.zeros((4, 2)), np.zeros((5, 1), int))
    with pytest.raises(ValueError):
        d.mig(np.full((4, 2), np.nan), np.zeros((4, 1), int))


def test_a_run_without_factors_is_one_error_line():
    from vae_gan_tf.errors import UserError
    from vae_gan_tf.evaluation.disentanglement_scores import check_factors

    with pytest.raises(UserError, match="need a run trained on images with known factors") as err:
        check_factors("mnist5k", "runs/vae", ["fid", "mig", "dci"])
    assert "\n" not in str(err.value) and "mig, dci" in str(err.value)
    check_factors("mnist5k", "runs/vae", ["fid"])
    check_factors("dsprites_like", "runs/b", ["mig"])


def test_score_codes_gives_the_four_metrics(codes):
    from vae_gan_tf.evaluation.disentanglement_scores import score_codes

    found = score_codes(codes["identity"], codes["factors"], ("mig", "beta_vae", "factor_vae", "dci"),
                        dci_train=300, dci_eval=200)
    assert {"mig", "beta_vae_eval_accuracy", "factor_vae_eval_accuracy", "dci_disentanglement"} <= set(found)
    assert len(found["_matrices"]["mutual_information"]) == 5


def test_traversal_codes_vary_one_dimension_per_row():
    from vae_gan_tf.runs.saved_model import traversal_codes

    codes = traversal_codes(np.array([0.5, -1.0, 2.0]), np.linspace(-3, 3, 4)).reshape(3, 4, 3)
    for d_ in range(3):
        assert np.allclose(codes[d_, :, d_], np.linspace(-3, 3, 4))
        others = [k for k in range(3) if k != d_]
        assert np.allclose(codes[d_][:, others], np.array([0.5, -1.0, 2.0])[others])
