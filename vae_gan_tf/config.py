"""Run configuration: YAML -> overrides -> validated dataclasses, with no TensorFlow import.

A config has three sections. ``data`` and ``train`` are the same for every model; ``model`` is
validated by the dataclass of the family its ``name`` picks (one config dataclass per family, as
in pythae). Every error is a :class:`~vae_gan_tf.errors.UserError` naming the key and the fix, raised
before any TensorFlow work starts.
"""

from __future__ import annotations

import dataclasses
import difflib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Optional

import yaml

from vae_gan_tf.data.source_names import NATIVE_SHAPES, PATH_SOURCES, SEQUENCE_SOURCES, TOY_SOURCES
from vae_gan_tf.errors import UserError, excerpt
from vae_gan_tf.models.catalog import MODEL_CONFIGS
from vae_gan_tf.models.vae.configs import UNIT_MEAN_LIKELIHOODS, VAEConfig


@dataclass
class DataConfig:
    """Where images come from and how they are prepared (``vae_gan_tf.data``)."""

    source: str = "mnist5k"  # named source or idx:DIR / npz:FILE / folder:DIR
    image_size: Optional[int] = None  # square resize; null keeps the native size (folder: needs it)
    channels: Optional[int] = None  # 1 or 3 to convert; null keeps the source's channels
    scale: Literal["unit", "symmetric"] = "unit"  # pixels in [0, 1] or [-1, 1]
    binarize: bool = False  # dynamic binarization: x ~ Bernoulli(pixel) at every draw
    validation_split: float = 0.1  # held-out fraction (taken before shuffling, reproducibly)


@dataclass
class TrainConfig:
    """How ``fit`` runs (``vae_gan_tf.train``)."""

    epochs: int = 20
    batch_size: int = 128  # the global batch
    learning_rate: float = 1e-3
    steps_per_epoch: Optional[int] = None  # cap on steps per epoch; null: one pass over the data
    seed: int = 0
    sample_count: int = 64  # images in each per-epoch sample grid
    time_budget_minutes: Optional[float] = None  # stop after this much training time (equal-CPU comparisons)
    # training/strategy.py; multi_worker reads TF_CONFIG, tpu connects to tpu_address
    strategy: Literal["auto", "default", "one_device", "mirrored", "multi_worker", "tpu"] = "auto"
    tpu_address: Optional[str] = None  # grpc://HOST:PORT or a TPU name; null: the local/Colab TPU
    logical_cpus: Optional[int] = None  # split the CPU into N logical devices (Mirrored on a laptop / in tests)
    mixed_precision: Optional[Literal["mixed_float16", "mixed_bfloat16"]] = None  # compute dtype policy
    jit_compile: bool = False  # XLA for the train step (not under a multi-replica strategy)
    steps_per_execution: int = 1  # train steps per tf.function call (hides Python overhead)
    checkpoint_every_steps: Optional[int] = None  # also back up every N steps; null: at epoch ends only
    deterministic: bool = False  # op determinism, one inter-op thread, no XLA (distribute.enable_determinism)
    eval_every_epochs: Optional[int] = None  # FID/KID/PR on held-out images every N epochs (training/epoch_evaluation.py)
    eval_samples: int = 5000  # generated and held-out real images per evaluation
    # the features of that evaluation: the cached classifier, or the 2015 FID Inception network (the field's
    # units; ~0.12 s per image on 2 cores, so keep eval_samples small, e.g. 1000)
    eval_features: Literal["classifier", "fid_inception"] = "classifier"


@dataclass
class Config:
    data: DataConfig = field(default_factory=DataConfig)
    model: typing.Any = field(default_factory=VAEConfig)  # a family's models.config_base.ModelConfig
    train: TrainConfig = field(default_factory=TrainConfig)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


SECTIONS = {"data": DataConfig, "train": TrainConfig}


# ---------------------------------------------------------------- loading and overrides


class UniqueKeyLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that refuses a key given twice in one mapping (PyYAML keeps the last silently),
    anchors and aliases (issue 25: ten nested aliases, a "billion laughs", expand to 9^10 items), which a
    run config never needs, and nesting deeper than :data:`MAX_DEPTH` (thousands of ``[`` overflowed
    PyYAML's recursive composer with a RecursionError); all before anything is built."""

    MAX_DEPTH = 32  # a config is three levels deep (section, key, a list of numbers)
    _depth = 0

    def compose_node(self, parent, index):
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
            kind = "alias *" if isinstance(event, yaml.AliasEvent) else "anchor &"
            raise UserError(f"YAML {kind}{str(event.anchor)[:40]} at line {event.start_mark.line + 1}: anchors "
                            "and aliases are not allowed in a config; write the value out")
        if self._depth >= self.MAX_DEPTH:
            raise UserError(f"YAML value nested more than {self.MAX_DEPTH} levels deep (column "
                            f"{event.start_mark.column + 1} of line {event.start_mark.line + 1}); a config needs "
                            "three (section, key, list)")
        self._depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise UserError(f"config key {excerpt(key)} is given twice (line {key_node.start_mark.line + 1} "
                                "repeats it); keep one")
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def shipped_configs() -> dict[str, Path]:
    """The YAML recipes that ship with the package (the top-level configs/ folder, installed as the package
    data of ``vae_gan_tf.configs``), by name: ``{"dcgan_mnist": .../dcgan_mnist.yaml, ...}``."""
    from importlib import resources

    try:
        folder = resources.files("vae_gan_tf.configs")
    except ModuleNotFoundError:
        raise UserError("the shipped configs (vae_gan_tf.configs) are not installed; run pip install -e . "
                        "in the repository, or give a path like configs/vae_mnist5k.yaml") from None
    return {entry.name[:-len(".yaml")]: Path(str(entry)) for entry in folder.iterdir()
            if entry.name.endswith(".yaml") and entry.is_file()}


def resolve_config_path(name_or_path: str | Path) -> Path:
    """``--config FILE or NAME``: an existing path as it is; a bare name (``dcgan_mnist`` or
    ``dcgan_mnist.yaml``: no folder part, not an existing file) one of :func:`shipped_configs`, else a
    UserError naming the closest; any other path as it is (:func:`load_yaml` reports it)."""
    path = Path(name_or_path)
    text = str(name_or_path)
    if path.exists() or not text or path.name != text:
        return path
    name = text[:-len(".yaml")] if text.endswith(".yaml") else text
    shipped = shipped_configs()
    if name in shipped:
        return shipped[name]
    close = difflib.get_close_matches(name, sorted(shipped), n=3)
    hint = f" (closest: {', '.join(close)})" if close else ""
    raise UserError(f"config file {excerpt(text)} does not exist and is not a shipped config name{hint}; "
                    "python -m vae_gan_tf.train --list-configs lists the names")


def load_yaml(path: str | Path) -> dict:
    """Read a YAML mapping with :class:`UniqueKeyLoader`; a missing, unreadable or malformed file is a
    UserError. ``path`` may be a shipped config's name (:func:`resolve_config_path`)."""
    path = resolve_config_path(path)
    if path.is_dir():
        raise UserError(f"--config {str(path)!r} is a folder; give a YAML file such as configs/vae_mnist5k.yaml")
    if not path.is_file():
        raise UserError(f"config file {str(path)!r} does not exist; give a path like configs/vae_mnist5k.yaml")
    try:
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=UniqueKeyLoader)
    except PermissionError:
        raise UserError(f"config file {str(path)!r} cannot be read (permission denied); check its "
                        "permissions") from None
    except UnicodeDecodeError:
        raise UserError(f"config file {str(path)!r} is not UTF-8 text; save it as UTF-8 YAML") from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise UserError(f"config file {str(path)!r} is not valid YAML{where}; fix its syntax") from None
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise UserError(f"config file {str(path)!r} must hold a mapping with sections data/model/train")
    return raw


def apply_overrides(raw: dict, overrides: list[str]) -> dict:
    """Apply ``a.b=value`` strings (value parsed as YAML) to a nested dict, returning a new dict."""
    result = {k: (dict(v) if isinstance(v, dict) else v) for k, v in raw.items()}
    for item in overrides:
        key, sep, text = item.partition("=")
        if not sep or not key.strip():
            raise UserError(f"--set {excerpt(item)} is not of the form section.key=value (e.g. --set train.epochs=5)")
        parts = key.strip().split(".")
        if len(parts) != 2:
            raise UserError(f"--set {excerpt(key)}: keys have two parts, section.key (e.g. model.latent_dim)")
        try:
            value = yaml.load(text, Loader=UniqueKeyLoader)
        except yaml.YAMLError:
            raise UserError(f"--set {excerpt(item)}: the value is not valid YAML") from None
        except UserError as err:
            raise UserError(f"--set {key.strip()[:40]}: {str(err).replace(' at line 1', '')}") from None
        section, name = parts
        if section not in ("data", "model", "train"):
            raise UserError(_unknown("section", section, ["data", "model", "train"]))
        sub = result.setdefault(section, {})
        if not isinstance(sub, dict):
            raise UserError(f"config section {excerpt(section)} must be a mapping")
        sub[name] = value
    return result


def build_config(raw: dict) -> Config:
    """Validate a nested dict into a :class:`Config`, or raise a UserError naming the bad key."""
    for section in raw:
        if section not in ("data", "model", "train"):
            raise UserError(_unknown("section", section, ["data", "model", "train"]))
    data = _build_section("data", DataConfig, raw.get("data") or {})
    train = _build_section("train", TrainConfig, raw.get("train") or {})
    model_raw = raw.get("model") or {}
    if not isinstance(model_raw, dict):
        raise UserError("config section 'model' must be a mapping")
    name = model_raw.get("name", "vae")
    if not isinstance(name, str) or name not in MODEL_CONFIGS:
        raise UserError(_unknown("model.name", name, sorted(MODEL_CONFIGS)))
    model = _build_section("model", MODEL_CONFIGS[name], model_raw)
    config = Config(data=data, model=model, train=train)
    check_values(config)
    native = NATIVE_SHAPES.get(data.source)
    if data.source == "dsprites_like" and data.image_size not in (None, 32, 64):
        raise UserError(f"data.source dsprites_like is rendered at 32 or 64 pixels; set data.image_size to 32 "
                        f"or 64, not {data.image_size}")
    if native is not None:
        check_image_shape(config, native)
    elif data.source in TOY_SOURCES:
        if model.reads_sequences:
            raise UserError(f"data.source {data.source} gives 2-D points, not sequences: "
                            "model.name=sequence_vae needs images (read row by row) or data.source=sines")
        if data.binarize:
            raise UserError(f"data.source {data.source} gives real-valued points: data.binarize must be false")
        if getattr(model, "architecture", None) != "mlp":
            raise UserError(f"data.source {data.source} gives 2-D points: set model.architecture=mlp")
        if getattr(model, "output_activation", "linear") != "linear":
            raise UserError(f"data.source {data.source} gives unbounded points: set model.output_activation=linear")
        if getattr(model, "likelihood", None) in UNIT_MEAN_LIKELIHOODS:
            raise UserError(f"data.source {data.source} gives real-valued points: set model.likelihood=gaussian")
    elif data.source in SEQUENCE_SOURCES:
        check_sequence_source(config)
    elif not data.source.startswith(PATH_SOURCES):
        raise UserError(_unknown("data.source", data.source,
                                 sorted(NATIVE_SHAPES) + list(TOY_SOURCES + SEQUENCE_SOURCES)
                                 + ["idx:DIR", "npz:FILE", "folder:DIR", "dsprites:FILE"]))
    return config


def load_config(path: str | Path | None = None, overrides: list[str] | None = None) -> Config:
    """The config from a YAML file or a shipped config's name (or the defaults) with ``--set`` overrides
    applied."""
    raw = load_yaml(path) if path is not None else {}
    return build_config(apply_overrides(raw, overrides or []))


def with_absolute_paths(config: Config) -> Config:
    """The config with an ``idx:``/``npz:``/``folder:`` source made absolute, so that a run folder's
    config.yaml still finds its data from any working directory."""
    source = config.data.source
    for prefix in PATH_SOURCES:
        if source.startswith(prefix):
            config.data.source = prefix + str(Path(source[len(prefix):]).expanduser().resolve())
    return config


def dump_config(config: Config, path: str | Path) -> None:
    from vae_gan_tf.runs.folder import write_text

    write_text(Path(path), yaml.safe_dump(config.to_dict(), sort_keys=False))


# ---------------------------------------------------------------- validation


def check_values(config: Config) -> None:
    """Range checks that types alone do not catch: the data and train sections here, the model section by
    its family's ``check`` (models/*/configs.py), and the checks across sections."""
    d, m, t = config.data, config.model, config.train
    positive = {
        "train.epochs": t.epochs,
        "train.batch_size": t.batch_size,
        "train.sample_count": t.sample_count,
        "train.steps_per_execution": t.steps_per_execution,
        **{f"model.{key}": getattr(m, key) for key in m.positive_fields},
    }
    for key, value in positive.items():
        if value < 1:
            raise UserError(f"{key} must be at least 1, got {value}")
    for key, value in {"train.steps_per_epoch": t.steps_per_epoch,
                       "data.image_size": d.image_size}.items():
        if value is not None and value < 1:
            raise UserError(f"{key} must be at least 1 or null, got {value}")
    if t.checkpoint_every_steps is not None and t.checkpoint_every_steps < 1:
        raise UserError(f"train.checkpoint_every_steps must be at least 1 or null, "
                        f"got {t.checkpoint_every_steps}")
    if t.logical_cpus is not None and t.logical_cpus < 1:
        raise UserError(f"train.logical_cpus must be at least 1 or null, got {t.logical_cpus}")
    if t.time_budget_minutes is not None and not t.time_budget_minutes > 0:
        raise UserError(f"train.time_budget_minutes must be positive or null, got {t.time_budget_minutes}")
    if t.tpu_address is not None and t.strategy != "tpu":
        raise UserError(f"train.tpu_address is only used with train.strategy=tpu (got strategy "
                        f"{t.strategy}); set train.strategy=tpu or drop train.tpu_address")
    if t.time_budget_minutes is not None and t.strategy == "multi_worker":
        raise UserError("train.time_budget_minutes cannot be used with train.strategy=multi_worker: each "
                        "worker would stop on its own clock at a different step; cap train.epochs instead")
    if not 0 <= t.seed < 2**32:
        raise UserError(f"train.seed must be in [0, 2**32), got {t.seed}")
    if not t.learning_rate > 0:
        raise UserError(f"train.learning_rate must be positive, got {t.learning_rate}")
    if not 0 <= d.validation_split < 1:
        raise UserError(f"data.validation_split must be in [0, 1), got {d.validation_split}")
    if d.channels not in (None, 1, 3):
        raise UserError(f"data.channels must be 1, 3 or null, got {d.channels}")
    if getattr(m, "attention_resolution", None) is not None and getattr(m, "architecture", None) not in ("conv", "dcgan"):
        raise UserError(f"model.attention_resolution needs a convolutional network (architecture conv or dcgan), "
                        f"not {m.architecture}; set it to null")
    m.check(config)
    _check_evaluation(config)
    if getattr(m, "likelihood", None) in UNIT_MEAN_LIKELIHOODS and d.scale != "unit":
        raise UserError(f"model.likelihood {m.likelihood} needs pixels in [0, 1]: set data.scale=unit")
    if d.binarize and d.scale != "unit":
        raise UserError("data.binarize needs data.scale=unit (binarization draws 0/1 pixels)")


def check_sequence_source(config: Config) -> None:
    """A sequence source (real values, variable length) needs the sequence VAE with a Gaussian likelihood."""
    d, m = config.data, config.model
    if not m.reads_sequences:
        raise UserError(f"data.source {d.source} gives variable-length sequences: "
                        "set model.name=sequence_vae")
    if m.likelihood == "bernoulli":
        raise UserError(f"data.source {d.source} gives real-valued sequences: set model.likelihood=gaussian")
    if d.binarize:
        raise UserError(f"data.source {d.source} gives real-valued sequences: data.binarize must be false")
    if d.image_size is not None or d.channels is not None:
        raise UserError(f"data.source {d.source} gives sequences, not images: data.image_size and "
                        "data.channels must be null")


def total_epochs(config: Config) -> int:
    """Epochs of the whole run: ``train.epochs``, plus those of a later stage (the two-stage VAE's)."""
    return config.train.epochs + config.model.extra_epochs()


def _check_evaluation(config: Config) -> None:
    """``train.eval_every_epochs`` needs images and a model that samples from a prior."""
    t, source = config.train, config.data.source
    if t.eval_samples < 10:
        raise UserError(f"train.eval_samples must be at least 10, got {t.eval_samples}")
    if t.eval_every_epochs is None:
        return
    if t.eval_every_epochs < 1:
        raise UserError(f"train.eval_every_epochs must be at least 1 or null, got {t.eval_every_epochs}")
    if source in TOY_SOURCES + SEQUENCE_SOURCES or config.model.reads_sequences:
        raise UserError(f"train.eval_every_epochs measures images; data.source {source} with model.name "
                        f"{config.model.name} has none: set train.eval_every_epochs=null")
    if not config.model.has_prior:
        raise UserError(f"train.eval_every_epochs needs a model with a prior to sample from; model.name "
                        f"{config.model.name} has none: set train.eval_every_epochs=null")


def images_per_step(config: Config) -> int:
    """Real images one train step consumes: the batch, times the family's real batches per step (the GAN
    family's d_steps: each discriminator update sees its own real batch, Gulrajani et al. 2017, Algorithm 1)."""
    return config.train.batch_size * config.model.real_batches_per_step()


def check_image_shape(config: Config, native_shape: tuple[int, int, int]) -> tuple[int, int, int]:
    """The (H, W, C) the model will see; a UserError when the conv strides cannot fit it."""
    h, w, c = native_shape
    if config.data.image_size is not None:
        h = w = config.data.image_size
    if config.data.channels is not None:
        c = config.data.channels
    m = config.model
    for key in m.strided_filter_keys():
        filters = getattr(m, key)
        factor = 2 ** len(filters)
        if h % factor or w % factor:
            raise UserError(
                f"image size {h}x{w} is not divisible by {factor} (one stride-2 layer per entry of "
                f"model.{key}={filters}); set data.image_size to a multiple of {factor} or use fewer entries"
            )
    if getattr(m, "architecture", None) == "infogan" and (h % 4 or w % 4):
        raise UserError(f"image size {h}x{w} is not divisible by 4 (architecture infogan has two stride-2 "
                        "layers); set data.image_size to a multiple of 4")
    check_attention(m, h)
    return h, w, c


def check_attention(model, height: int) -> None:
    """``attention_resolution`` must name a side that the network has (and a conv/dcgan network)."""
    resolution = getattr(model, "attention_resolution", None)
    if resolution is None:
        return
    sides = model.attention_sides(height)
    if not sides:
        raise UserError(f"model.attention_resolution needs a convolutional network (architecture conv or dcgan), "
                        f"not {model.architecture}; set it to null")
    if resolution not in sides:
        raise UserError(f"model.attention_resolution={resolution} is not a feature-map side of this network "
                        f"at image size {height}; use one of {sides} (smaller is cheaper: attention costs side**4)")


def _build_section(section: str, cls: type, values: dict):
    if not isinstance(values, dict):
        raise UserError(f"config section {excerpt(section)} must be a mapping, got {type(values).__name__}")
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    kwargs = {}
    for key, value in values.items():
        if key not in names:
            raise UserError(_unknown(f"{section} key", key, names, section))
        kwargs[key] = _coerce(f"{section}.{key}", value, hints[key])
    return cls(**kwargs)


def _unknown(what: str, got, valid: list[str], section: str | None = None) -> str:
    close = difflib.get_close_matches(str(got)[:100], valid, n=1, cutoff=0.5)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    where = f"{section}.{got}" if section else str(got)
    return f"unknown {what} {excerpt(where)}{hint} (valid: {', '.join(valid)})"


def _coerce(key: str, value, hint):
    """Check ``value`` against the annotation ``hint``; ints are accepted for floats."""
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        return _coerce(key, value, inner[0])
    if origin is Literal:
        if value not in args:
            close = difflib.get_close_matches(str(value)[:100], [str(a) for a in args], n=1, cutoff=0.5)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise UserError(f"{key} must be one of {', '.join(map(str, args))}, got {excerpt(value)}{hint}")
        return value
    if origin is list:
        if not isinstance(value, list):
            raise UserError(f"{key} must be a list like [32, 64], got {excerpt(value)}")
        return [_coerce(f"{key}[{i}]", v, args[0]) for i, v in enumerate(value)]
    if hint is bool:
        if not isinstance(value, bool):
            raise UserError(f"{key} must be true or false, got {excerpt(value)}")
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise UserError(f"{key} must be an integer, got {excerpt(value)}")
        return value
    if hint is float:
        if isinstance(value, str):  # PyYAML (YAML 1.1) reads 3e-4 as a string; accept it as a number
            try:
                value = float(value)
            except ValueError:
                pass
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise UserError(f"{key} must be a number, got {excerpt(value)}")
        return float(value)
    if hint is str:
        if not isinstance(value, str):
            raise UserError(f"{key} must be a string, got {excerpt(value)}")
        return value
    raise TypeError(f"unsupported annotation {hint!r} for {key}")  # a bug in this module, not user input
