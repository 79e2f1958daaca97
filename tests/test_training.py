"""Training-loop options that the CLI tests do not reach: the time budget."""

import json

from vae_gan_tf.config import load_config
from vae_gan_tf.training import train_run


def test_time_budget_stops_training_and_says_so(tmp_path):
    config = load_config(None, ["data.source=digits", "model.conv_filters=[8]", "model.latent_dim=2",
                                "train.batch_size=32", "train.epochs=500", "train.time_budget_minutes=0.05"])
    metrics = train_run(config, tmp_path / "run", verbose=0)
    assert 0 < metrics["epochs_completed"] < 500
    assert "time budget of 0.05 minutes reached" in (tmp_path / "run" / "train.log").read_text()
    assert json.loads((tmp_path / "run" / "metrics.json").read_text())["train_images_per_s"] > 0
