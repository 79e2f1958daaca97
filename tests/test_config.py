"""Config validation: every error is a one-line UserError naming the key; nothing here imports TensorFlow."""

import pytest
import yaml

from vae_gan_tf.config import dump_config, load_config
from vae_gan_tf.errors import UserError
from vae_gan_tf.models.vae.configs import AutoencoderConfig, VAEConfig


def error_of(overrides=None, path=None) -> str:
    with pytest.raises(UserError) as info:
        load_config(path, overrides or [])
    message = str(info.value)
    assert "\n" not in message
    return message


def test_defaults_are_the_conv_vae_on_mnist5k():
    config = load_config()
    assert isinstance(config.model, VAEConfig)
    assert (config.data.source, config.model.architecture, config.train.epochs) == ("mnist5k", "conv", 20)


def test_overrides_are_parsed_as_yaml_and_pick_the_family():
    config = load_config(None, ["model.name=autoencoder", "model.hidden_units=[64, 32]", "train.learning_rate=3e-4",
                                "data.binarize=true"])
    assert isinstance(config.model, AutoencoderConfig)
    assert config.model.hidden_units == [64, 32]
    assert config.train.learning_rate == pytest.approx(3e-4)
    assert config.data.binarize is True


def test_unknown_key_names_the_key_the_valid_keys_and_the_closest_match():
    message = error_of(["model.latnt_dim=3"])
    assert "model.latnt_dim" in message and "did you mean 'latent_dim'" in message and "conv_filters" in message


def test_unknown_key_in_a_yaml_file(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("train:\n  epochs: 3\n  bach_size: 64\n")
    assert "did you mean 'batch_size'" in error_of(path=path)


def test_unknown_section_and_bad_override_syntax():
    assert "did you mean 'data'" in error_of(["dta.source=mnist"])
    assert "section.key=value" in error_of(["train.epochs"])


@pytest.mark.parametrize("override, fragment", [
    ("train.epochs=-1", "train.epochs must be at least 1"),
    ("train.epochs=2.5", "train.epochs must be an integer"),
    ("train.epochs=true", "train.epochs must be an integer"),
    ("model.latent_dim=0", "model.latent_dim must be at least 1"),
    ("train.learning_rate=0", "train.learning_rate must be positive"),
    ("train.learning_rate=fast", "train.learning_rate must be a number"),
    ("data.validation_split=1.0", "data.validation_split must be in [0, 1)"),
    ("model.architecture=cnn", "did you mean 'conv'"),
    ("model.hidden_units=64", "must be a list"),
    ("model.name=gann", "unknown model.name 'gann'"),
    ("data.source=mnsit", "unknown data.source"),
    ("data.scale=symmetric", "needs pixels in [0, 1]"),
    ("model.beta=-1", "model.beta must be non-negative"),
    ("model.name=gan", "a tanh generator makes images in [-1, 1]: set data.scale=symmetric"),
    ("model.d_beta_1=1.0", "unknown model key"),
    ("train.seed=-1", "train.seed must be in [0, 2**32)"),
    ("model.name=[1]", "unknown model.name"),
    ("model.beta=.nan", "model.beta must be non-negative"),
    ("train.checkpoint_every_steps=0", "train.checkpoint_every_steps must be at least 1 or null"),
    ("train.deterministic=1", "train.deterministic must be true or false"),
])
def test_wrong_types_and_impossible_values(override, fragment):
    assert fragment in error_of([override])


def test_image_size_must_fit_the_conv_strides():
    message = error_of(["data.image_size=30", "model.conv_filters=[32, 64, 128]"])
    assert "30x30 is not divisible by 8" in message
    load_config(None, ["data.image_size=32", "model.conv_filters=[32, 64, 128]"])  # fits
    load_config(None, ["data.image_size=30", "model.architecture=mlp"])  # no strides to fit


def test_missing_and_malformed_files(tmp_path):
    assert "does not exist" in error_of(path=tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("train: [epochs: 3\n")
    assert "not valid YAML" in error_of(path=bad)
    listed = tmp_path / "list.yaml"
    listed.write_text("- 1\n- 2\n")
    assert "must hold a mapping" in error_of(path=listed)


def test_adversarial_combinations_that_cannot_work():
    assert "data.binarize must be false" in error_of(["model.name=gan", "data.source=ring8",
                                                      "model.output_activation=linear", "data.binarize=true"])
    assert "label_smoothing applies to the minimax/nonsaturating" in error_of(
        ["model.name=gan", "data.scale=symmetric", "model.loss=hinge", "model.label_smoothing=0.1"])


def test_non_utf8_config_file(tmp_path):
    path = tmp_path / "latin1.yaml"
    path.write_bytes("train:\n  epochs: 3  # d\xe9faut\n".encode("latin-1"))
    assert "not UTF-8" in error_of(path=path)


def test_yaml_is_loaded_safely(tmp_path):
    path = tmp_path / "evil.yaml"
    path.write_text("train: !!python/object/apply:os.system ['echo hi']\n")
    assert "not valid YAML" in error_of(path=path)


def test_resolved_config_round_trips(tmp_path):
    config = load_config(None, ["model.latent_dim=7", "data.source=digits", "model.conv_filters=[8]"])
    dump_config(config, tmp_path / "config.yaml")
    assert yaml.safe_load((tmp_path / "config.yaml").read_text())["model"]["latent_dim"] == 7
    assert load_config(tmp_path / "config.yaml") == config


def test_every_shipped_config_is_valid():
    from pathlib import Path

    configs = sorted((Path(__file__).resolve().parents[1] / "configs").glob("*.yaml"))
    assert configs
    for path in configs:
        load_config(path)


def test_docs_document_every_config_key():
    """Every config key has a row ``| `key` | default | meaning |`` in some docs/*.md page (config.md has the
    reference; other pages document the keys they add)."""
    import dataclasses
    import re
    from pathlib import Path

    from vae_gan_tf.config import SECTIONS
    from vae_gan_tf.models.catalog import MODEL_CONFIGS

    pages = sorted((Path(__file__).resolve().parents[1] / "docs").glob("*.md"))
    documented = {name for page in pages for line in page.read_text().splitlines() if line.startswith("| `")
                  for name in re.findall(r"`([a-z_0-9]+)`", line.split("|")[1])}
    classes = [*SECTIONS.values(), *MODEL_CONFIGS.values()]
    missing = sorted({f.name for cls in classes for f in dataclasses.fields(cls) if f.name not in documented})
    assert not missing, f"no docs/*.md page has a row for: {missing}"
