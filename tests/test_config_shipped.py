"""configs/*.yaml ship as the package data of vae_gan_tf.configs: --config NAME and --list-configs."""

import subprocess
import sys
from pathlib import Path

import pytest
import tomllib
from conftest import ROOT, run_module

from vae_gan_tf.config import load_config, resolve_config_path
from vae_gan_tf.errors import UserError

CONFIGS = sorted((ROOT / "configs").glob("*.yaml"))


def first_comment_line(path):
    first = path.read_text(encoding="utf-8").splitlines()[0]
    assert first.startswith("# "), f"{path.name} does not start with a comment"
    return first[2:].strip()


def test_list_configs_lists_every_config_with_its_first_comment_line():
    result = run_module("vae_gan_tf.train", "--list-configs", timeout=60)
    assert result.returncode == 0, result.stderr[-2000:]
    lines = result.stdout.splitlines()
    assert len(lines) == len(CONFIGS) > 0
    assert [line.split()[0] for line in lines] == [path.stem for path in CONFIGS]  # sorted, one per file
    for line, path in zip(lines, CONFIGS):
        assert line.endswith(first_comment_line(path)), line


def test_list_configs_does_not_import_tensorflow():
    code = ("import sys, contextlib, io\n"
            "from vae_gan_tf import train\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n"
            "    assert train.main(['--list-configs']) == 0\n"
            "print(sorted(m for m in ('tensorflow', 'keras') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                            timeout=60)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "[]"


@pytest.mark.parametrize("name", ["dcgan_mnist", "dcgan_mnist.yaml"])
def test_a_bare_name_loads_the_shipped_config(name):
    assert load_config(name).to_dict() == load_config(ROOT / "configs" / "dcgan_mnist.yaml").to_dict()


def test_a_bare_name_is_the_same_as_its_path_from_the_repository(monkeypatch):
    monkeypatch.chdir(ROOT)
    assert load_config("dcgan_mnist").to_dict() == load_config("configs/dcgan_mnist.yaml").to_dict()


def test_an_existing_file_wins_over_a_shipped_name(tmp_path, monkeypatch):
    (tmp_path / "dcgan_mnist.yaml").write_text("train:\n  epochs: 3\n")
    monkeypatch.chdir(tmp_path)
    assert resolve_config_path("dcgan_mnist.yaml").resolve() == tmp_path / "dcgan_mnist.yaml"
    assert load_config("dcgan_mnist.yaml").train.epochs == 3
    assert load_config("dcgan_mnist").model.name == "gan"  # no file of that name here: the shipped one


def test_an_unknown_name_is_one_line_naming_the_closest_and_list_configs():
    with pytest.raises(UserError) as caught:
        load_config("dcgan_mnsit")
    message = str(caught.value)
    assert "\n" not in message and "--list-configs" in message and "dcgan_mnist" in message, message
    result = run_module("vae_gan_tf.train", "--config", "no_such_recipe", timeout=60)
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert result.returncode == 2, result.stderr[-2000:]
    assert len(errors) == 1 and "--list-configs" in errors[0], result.stderr[-2000:]
    assert "Traceback" not in result.stderr


def test_a_missing_path_keeps_its_message(tmp_path):
    with pytest.raises(UserError, match="does not exist; give a path like configs/vae_mnist5k.yaml"):
        load_config("no/such.yaml")
    with pytest.raises(UserError, match="is a folder"):
        load_config(tmp_path)


def test_the_run_folder_of_a_bare_name_is_named_after_it(tmp_path, monkeypatch):
    from vae_gan_tf.train import build_parser, resolve_run

    monkeypatch.chdir(tmp_path)
    for name in ("dcgan_mnist", "dcgan_mnist.yaml"):
        config, run_dir, mode = resolve_run(build_parser().parse_args(["--config", name]))
        assert (run_dir, mode, config.model.name) == (Path("runs") / "dcgan_mnist", "new", "gan")
    assert not (tmp_path / "runs").exists()


def test_shipped_configs_resolve_through_the_package_data_not_the_working_directory(tmp_path):
    code = ("import importlib.resources, pathlib\n"
            "from vae_gan_tf.config import load_config, resolve_config_path\n"
            "shipped = importlib.resources.files('vae_gan_tf.configs')\n"
            "assert resolve_config_path('vae_mnist5k') == pathlib.Path(str(shipped / 'vae_mnist5k.yaml'))\n"
            "print(sorted(p.name for p in shipped.iterdir() if p.name.endswith('.yaml')))\n"
            "print(load_config('vae_mnist5k').to_dict())")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path,
                            timeout=60)
    assert result.returncode == 0, result.stderr[-2000:]
    names, config = result.stdout.splitlines()
    assert names == str([path.name for path in CONFIGS])
    assert config == str(load_config(ROOT / "configs" / "vae_mnist5k.yaml").to_dict())
    assert not any(tmp_path.iterdir())


def test_the_package_list_is_the_found_packages_plus_configs():
    """pyproject.toml lists the packages (setuptools finds none mapped to another folder): a subpackage added
    under vae_gan_tf/ must be added there too, or the wheel leaves it out."""
    from setuptools import find_namespace_packages

    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    found = find_namespace_packages(where=str(ROOT), include=["vae_gan_tf*"])
    assert sorted(setuptools["packages"]) == sorted([*found, "vae_gan_tf.configs"])
    assert setuptools["package-dir"] == {"vae_gan_tf.configs": "configs"}
    assert setuptools["package-data"] == {"vae_gan_tf.configs": ["*.yaml"]}
