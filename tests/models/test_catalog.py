"""``model.keras`` files written before the package moved into stage folders (tests/data/pre_layout) load
with today's classes and give the outputs they gave then: the flat ``get_config`` of each family becomes its
config dataclass, and the registered class names did not change."""

from pathlib import Path

import keras
import numpy as np
import pytest

from vae_gan_tf.models.catalog import register_all

HERE = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "pre_layout"
FAMILIES = ("vae", "autoencoder", "cvae", "vaegan", "two_stage_vae", "sequence_vae", "gan", "wgan", "cgan")

register_all()


@pytest.mark.parametrize("name", FAMILIES)
def test_a_model_file_of_the_flat_layout_loads_and_generates_what_it_did(name):
    model = keras.models.load_model(HERE / f"{name}.keras")
    assert model.model_config.name == name
    z = np.random.default_rng(0).standard_normal((3, model.latent_dim)).astype(np.float32)
    if name in ("cvae", "cgan"):
        output = model.generate(z, np.array([0, 1, 2], np.int32))
    elif name == "autoencoder":
        output = model.decode(z)
    else:
        output = model.generate(z)
    expected = np.load(HERE / "outputs.npz")[name]
    np.testing.assert_allclose(keras.ops.convert_to_numpy(output), expected, rtol=1e-5, atol=1e-6)
    assert model.get_compile_config() is not None  # every optimizer came back with its state
