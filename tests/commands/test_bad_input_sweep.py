"""The bad-input sweep (issue 25): a table of cases by class, each a command, its exit code, "one line" and
the files that must not change, on tiny runs made once per module.

Every case runs the entry point's ``main`` in this process through ``run_cli`` (so TensorFlow is imported
once), in a folder of its own holding a copy of the run it needs and a file or folder *outside* it that
links point to. Before and after, every file below both is checksummed (conftest.snapshot).
"""

from __future__ import annotations

import errno
import shutil
from pathlib import Path

import pytest
from conftest import snapshot

from vae_gan_tf import compare, complete, denoise, evaluate, sample, train, verify
from vae_gan_tf.errors import MAX_LINE, run_cli

COMMANDS = {"train": train.main, "sample": sample.main, "evaluate": evaluate.main, "compare": compare.main,
            "complete": complete.main, "denoise": denoise.main, "verify": verify.main}
FID_SHA1 = "a16e4d89c0ecbc17a915dd76ea9e41211aa82562"
NLL = ["--metrics", "nll", "--nll-images", "4", "--k", "2"]


def bomb(levels: int) -> str:
    """A YAML "billion laughs": ``levels`` anchors, each a list of nine aliases of the one before."""
    text = "&a0 [1,1,1,1,1,1,1,1,1]"
    for i in range(1, levels):
        text += f", &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]"
    return f"[{text}]"


class Case:
    """One row: ``setup(work, outside)`` prepares ``work`` and returns the argv (``{run}``-free)."""

    def __init__(self, cls, name, command, setup, code=2, fragment="", env=None, changes=(), patch=None):
        self.cls, self.name, self.command, self.setup = cls, name, command, setup
        self.code, self.fragment, self.env, self.changes, self.patch = code, fragment, env or {}, changes, patch

    @property
    def id(self):
        return f"{self.cls}-{self.name}"


def run_copy(work: Path, which: str, name: str = "run") -> Path:
    target = work / name
    shutil.copytree(RUNS[which], target, symlinks=True)
    return target


def linked(entry: str, command: str, extra=(), which="vae", target_is_dir=False):
    """Setup: a run copy whose ``entry`` is a link to a file (or folder) outside."""
    def setup(work, outside):
        run = run_copy(work, which)
        target = outside / ("dir" if target_is_dir else "thesis.txt")
        path = run / entry
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)
        path.symlink_to(target, target_is_directory=target_is_dir)
        return [*(["--resume", "--out", str(run)] if command == "train" else [str(run)]), *extra]
    return setup


def with_file(entry: str, content: bytes, argv, which="vae"):
    """Setup: a run copy whose ``entry`` holds ``content``; ``argv(run, work)`` the arguments."""
    def setup(work, outside):
        run = run_copy(work, which)
        path = run / entry
        if path.is_dir():
            shutil.rmtree(path)
        path.write_bytes(content)
        return argv(run, work)
    return setup


def plain(argv, which="vae"):
    def setup(work, outside):
        return argv(run_copy(work, which), work)
    return setup


def no_run(argv):
    return lambda work, outside: argv(work)


def cases() -> list[Case]:
    rows: list[Case] = []
    add = rows.append
    # ---- security: writes that would follow a link out of the folder
    for entry, command, extra in [
            ("eval.json", "evaluate", NLL), ("samples", "evaluate", NLL), ("history.csv", "train", ["--epochs", "3"]),
            ("train.log", "train", ["--epochs", "3"]), ("config.yaml", "train", ["--epochs", "3"]),
            ("metrics.json", "train", ["--export-only"]), ("uses.json", "complete", ["--out", "{work}/c.png"]),
            ("uses.json", "denoise", ["--out", "{work}/d.png"])]:
        add(Case("link", f"{command}-{entry}", command, linked(entry, command, extra), fragment="link"))
    for entry, command in [("checkpoints", "train"), ("saved_model", "train"), ("uses", "complete")]:
        extra = ["--epochs", "3"] if command == "train" else ["--out", "{work}/c.png"]
        add(Case("link", f"{command}-{entry}-folder", command, linked(entry, command, extra, target_is_dir=True),
                 fragment="link"))
    for command in ("sample", "complete", "denoise"):
        def out_link(work, outside, command=command, dangling=False):
            run = run_copy(work, "vae")
            (work / "out.png").symlink_to(outside / ("nowhere.png" if dangling else "thesis.txt"))
            return [str(run), "--out", str(work / "out.png"), "--n", "4"]
        add(Case("link", f"{command}-out", command, out_link, fragment="link"))
        add(Case("link", f"{command}-out-dangling", command,
                 lambda w, o, c=command: out_link(w, o, c, dangling=True), fragment="link"))

    def report_link(work, outside):
        run_copy(work, "toy")
        (work / "report").symlink_to(outside / "dir", target_is_directory=True)
        return [str(work / "run"), str(work / "toy2"), "--out", str(work / "report"), "--n", "20"]

    def report_holding_link(work, outside):
        run_copy(work, "toy")
        (work / "report").mkdir()
        (work / "report" / "images").symlink_to(outside / "dir", target_is_directory=True)
        return [str(work / "run"), str(work / "toy2"), "--out", str(work / "report"), "--n", "20"]

    def two_toys(setup):
        def both(work, outside):
            argv = setup(work, outside)
            run_copy(work, "toy2", "toy2")
            return argv
        return both

    add(Case("link", "compare-out", "compare", two_toys(report_link), fragment="link"))
    add(Case("link", "compare-out-holds-link", "compare", two_toys(report_holding_link), fragment="link"))
    # ---- security: YAML anchors and aliases
    for key in ("model.name", "data.source", "train.epochs", "model.conv_filters", "model.latent_dim"):
        for levels in (2, 5, 10):
            add(Case("yaml-alias", f"set-{key}-{levels}", "train",
                     no_run(lambda w, k=key, n=levels: ["--out", str(w / "new"), "--set", f"{k}={bomb(n)}"]),
                     fragment="anchors and aliases"))
    for name, text in [("anchor-data", "data: &d {source: digits}\ntrain: {epochs: 1}\n"),
                       ("alias-train", "model: {conv_filters: &f [8, 16]}\ntrain: {x: *f}\n"),
                       ("merge-key", "base: &b {epochs: 1}\ntrain:\n  <<: *b\n"),
                       ("bomb-file", f"model:\n  name: {bomb(8)}\n")]:
        def config_file(work, outside, text=text):
            (work / "c.yaml").write_text(text)
            return ["--config", str(work / "c.yaml"), "--out", str(work / "new")]
        add(Case("yaml-alias", f"config-{name}", "train", config_file, fragment="anchors and aliases"))
    add(Case("yaml-alias", "resume-set", "train",
             plain(lambda r, w: ["--resume", "--out", str(r), "--set", "train.epochs=&a 3"]),
             fragment="anchors and aliases"))
    add(Case("yaml-alias", "resume-config-yaml", "train",
             with_file("config.yaml", b"data: &d {source: digits}\nmodel: {}\ntrain: {}\n",
                       lambda r, w: ["--resume", "--out", str(r), "--epochs", "3"]), fragment="anchors and aliases"))
    # ---- long values: one short line
    long_text = "x" * 20000
    for key, value in [("model.name", long_text), ("data.source", long_text), ("data.scale", long_text),
                       ("train.epochs", "[" + ",".join(["1"] * 5000) + "]"), ("model.conv_filters", long_text),
                       ("train.strategy", long_text), (f"model.{long_text}", "1"), (long_text, "1")]:
        add(Case("long-value", f"set-{key[:20]}", "train",
                 no_run(lambda w, k=key, v=value: ["--out", str(w / "new"), "--set", f"{k}={v}"])))
    add(Case("long-value", "set-without-equals", "train", no_run(lambda w: ["--set", long_text])))
    # ---- damaged JSON that a command reads
    for entry in ("eval.json", "metrics.json"):
        for label, content in [("garbage", b"not json{"), ("list", b"[1, 2]"), ("empty", b""),
                               ("binary", b"\x00\xff\xfe")]:
            add(Case("bad-json", f"compare-{entry}-{label}", "compare",
                     two_toys(with_file(entry, content, lambda r, w: [str(r), str(w / "toy2"), "--out",
                                                                      str(w / "report"), "--n", "20"], "toy")),
                     fragment=entry))
    for label, content in [("garbage", b"{"), ("list", b"[]"), ("binary", b"\xff")]:
        add(Case("bad-json", f"sample-export-info-{label}", "sample",
                 with_file("saved_model/assets/vae_gan_tf.json", content,
                           lambda r, w: [str(r), "--out", str(w / "s.png")]), fragment="export-only"))
    for label, content in [("garbage", b"{bad"), ("keys", b'{"x": 1}'), ("list", b"[1]")]:
        def fid_cache(work, outside, content=content):
            cache = work / "cache" / "fid_inception"
            cache.mkdir(parents=True)
            (cache / f"{FID_SHA1}.json").write_bytes(content)
            (cache / f"{FID_SHA1}.weights.h5").write_bytes(b"")
            return [str(run_copy(work, "vae")), "--metrics", "fid", "--n", "20", "--features", "fid_inception"]
        add(Case("bad-json", f"fid-cache-{label}", "evaluate", fid_cache, fragment="fid_inception",
                 env={"VAE_GAN_TF_CACHE": "{work}/cache"}))
    # ---- a config.yaml that is not a YAML mapping, on --resume
    for label, content in [("syntax", b"a: [1, 2"), ("list", b"- 1\n- 2\n"), ("binary", b"\xff\xfe\x00"),
                           ("duplicate", b"train: {epochs: 1, epochs: 2}\n"), ("tab", b"a:\n\t- 1\n")]:
        add(Case("resume-config", label, "train",
                 with_file("config.yaml", content, lambda r, w: ["--resume", "--out", str(r), "--epochs", "3"]),
                 fragment="config"))
    # ---- argparse type errors: one line, no usage block
    for command, argv in [
            ("sample", ["{run}", "--n", "1.5"]), ("sample", ["{run}", "--n", "abc"]), ("sample", ["{run}", "--seed", "x"]),
            ("evaluate", ["{run}", "--n", "1.5"]), ("evaluate", ["{run}", "--k", "abc"]),
            ("evaluate", ["{run}", "--features", "bogus"]), ("compare", ["{run}", "--out", "r", "--n", "1.5"]),
            ("compare", ["{run}"]), ("complete", ["{run}", "--n", "abc"]), ("complete", ["{run}", "--metrics-n", "1.5"]),
            ("denoise", ["{run}", "--steps", "x"]), ("denoise", ["{run}", "--n", "1.5"]),
            ("train", ["--epochs", "1.5"]), ("train", ["--steps-per-epoch", "abc"]), ("train", ["--verbose", "5"]),
            ("verify", ["--seed", "x"]), ("sample", []), ("evaluate", ["--bogus"]), ("train", ["--bogus"]),
            ("verify", ["--bogus"])]:
        add(Case("argparse", f"{command}-{'-'.join(argv[1:] or argv or ['none'])}", command,
                 plain(lambda r, w, a=argv: [str(r) if x == "{run}" else x for x in a]), fragment="--help"))
    # ---- counts out of range
    for command, argv in [("compare", ["--n", "0"]), ("compare", ["--n", "-5"]), ("sample", ["--n", "0"]),
                          ("sample", ["--n", "5000"]), ("evaluate", ["--n", "0"]), ("evaluate", ["--k", "0"]),
                          ("complete", ["--n", "0"]), ("denoise", ["--metrics-n", "0"])]:
        def ranged(work, outside, command=command, argv=argv):
            run = run_copy(work, "toy" if command == "compare" else "vae")
            if command == "compare":
                run_copy(work, "toy2", "toy2")
                return [str(run), str(work / "toy2"), "--out", str(work / "report"), *argv]
            return [str(run), *argv]
        add(Case("range", f"{command}{''.join(argv)}", command, ranged, fragment="must be"))
    # ---- complete / denoise on runs that hold no images
    for command, spec in [("complete", ["--mask", "center"]), ("complete", ["--mask", "left"]),
                          ("complete", ["--mask", "random:0.5"]), ("denoise", ["--noise", "gaussian:0.3"]),
                          ("denoise", ["--noise", "salt_pepper:0.1"]), ("denoise", ["--noise", "mask:0.5"])]:
        add(Case("no-images", f"{command}-{spec[1]}", command,
                 plain(lambda r, w, s=spec: [str(r), *s, "--out", str(w / "o.png")], "toy"), fragment="image runs"))
    # ---- the cache: a file, or below a file
    for where in ("{work}/cachefile", "{work}/cachefile/sub"):
        def cache_file(work, outside, argv):
            (work / "cachefile").write_text("a file")
            return argv(work)
        suffix = "file" if where.endswith("cachefile") else "below-file"
        add(Case("cache", f"train-classifier-{suffix}", "evaluate",
                 lambda w, o: cache_file(w, o, lambda w: ["--train-classifier", "digits", "--classifier-epochs", "1"]),
                 env={"VAE_GAN_TF_CACHE": where}, fragment="not a folder"))
        add(Case("cache", f"evaluate-fid-{suffix}", "evaluate",
                 lambda w, o: cache_file(w, o, lambda w: [str(run_copy(w, "vae")), "--metrics", "fid", "--n", "20"]),
                 env={"VAE_GAN_TF_CACHE": where}, fragment="not a folder"))
        add(Case("cache", f"fid-inception-{suffix}", "evaluate",
                 lambda w, o: cache_file(w, o, lambda w: [str(run_copy(w, "vae")), "--metrics", "fid", "--n", "20",
                                                          "--features", "fid_inception"]),
                 env={"VAE_GAN_TF_CACHE": where}, fragment="not a folder"))
    # ---- an OSError nobody listed: one line naming the path
    add(Case("oserror", "eval-json-is-a-folder", "evaluate",
             plain(lambda r, w: ((r / "eval.json").mkdir(), (r / "eval.json" / "x").write_text("x"),
                                 [str(r), *NLL])[-1]), fragment="eval.json"))
    add(Case("oserror", "report-md-is-a-folder", "compare",
             two_toys(plain(lambda r, w: ((w / "report" / "report.md").mkdir(parents=True),
                                          [str(r), str(w / "toy2"), "--out", str(w / "report"), "--n", "20"])[-1],
                            "toy")), fragment="report.md", changes=("run/eval.json", "toy2/eval.json")))
    # ---- a damaged export: refused with the way to rebuild it, and rebuilt
    for label, damage in [("no-variables", lambda r: shutil.rmtree(r / "saved_model" / "variables")),
                          ("empty-pb", lambda r: (r / "saved_model" / "saved_model.pb").write_bytes(b""))]:
        def damaged(work, outside, damage=damage, argv=None):
            run = run_copy(work, "vae")
            damage(run)
            return argv(run, work)
        add(Case("export", f"sample-{label}", "sample",
                 lambda w, o, d=damaged: d(w, o, argv=lambda r, w: [str(r), "--out", str(w / "s.png")]),
                 fragment="--export-only"))
        if label == "empty-pb":  # the other damage is rebuilt in a fresh process (the last test below)
            add(Case("export", f"rebuild-{label}", "train",
                     lambda w, o, d=damaged: d(w, o, argv=lambda r, w: ["--resume", "--export-only", "--out", str(r)]),
                     code=0, changes=("run/saved_model", "run/train.log")))
    add(Case("export", "finished-names-export-only", "train",
             plain(lambda r, w: ["--resume", "--out", str(r), "--epochs", "2"]), fragment="--export-only"))
    add(Case("export", "export-only-without-resume", "train", no_run(lambda w: ["--export-only"]),
             fragment="--resume"))
    # ---- a full disk: the existing output kept whole, nothing temporary left
    for existing in (True, False):
        def full_sample(work, outside, existing=existing):
            run = run_copy(work, "vae")
            if existing:
                (work / "grid.png").write_bytes(b"an earlier grid")
            return [str(run), "--n", "4", "--out", str(work / "grid.png")]
        add(Case("full-disk", f"sample-{'existing' if existing else 'new'}", "sample", full_sample,
                 fragment="was kept" if existing else "not written", patch="savefig"))
    add(Case("full-disk", "evaluate-eval-json", "evaluate",
             with_file("eval.json", b'{"earlier": 1}', lambda r, w: [str(r), "--metrics", "modes", "--n", "20"],
                       "toy"), fragment="was kept", patch="fsync"))
    add(Case("full-disk", "compare-report", "compare",
             two_toys(plain(lambda r, w: [str(r), str(w / "toy2"), "--out", str(w / "report"), "--n", "20"], "toy")),
             fragment="no space left", patch="fsync"))
    # ---- the first pass's classes: missing runs, bad specs
    for command in ("sample", "evaluate", "complete", "denoise"):
        add(Case("first-pass", f"{command}-missing-run", command, no_run(lambda w: [str(w / "nothing")])))
    add(Case("first-pass", "compare-missing-run", "compare",
             no_run(lambda w: [str(w / "a"), str(w / "b"), "--out", str(w / "r")])))
    for command, spec in [("complete", ["--mask", "random:2"]), ("complete", ["--mask", "bogus"]),
                          ("denoise", ["--noise", "gaussian:-1"]), ("denoise", ["--noise", "foo:1"]),
                          ("evaluate", ["--metrics", "bogus"]), ("evaluate", ["--metrics", "fid,,pr"])]:
        add(Case("first-pass", f"{command}-{spec[1]}", command, plain(lambda r, w, s=spec: [str(r), *s])))
    # ---- round two: cases the first sweep did not have
    for entry, target, name in [("logs", "outside", "logs-out"), ("logs", "samples", "logs-inside"),
                                ("logs/train", "outside", "logs-train-out"),
                                ("history.csv", "train.log", "history-inside")]:
        def inner_link(work, outside, entry=entry, target=target):
            run = run_copy(work, "vae")
            path = run / entry
            if path.is_dir():
                shutil.rmtree(path)
            path.unlink(missing_ok=True)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.symlink_to(outside / "dir" if target == "outside" else run / target)
            return ["--resume", "--out", str(run), "--epochs", "3"]
        add(Case("link", f"train-{name}", "train", inner_link, fragment="link"))

    def out_is_link(work, outside, resume=False):
        if resume:
            run_copy(work, "vae", "real_run")
        else:  # an empty folder, or the run would be refused as existing: it trained into the link's target
            (outside / "empty").mkdir()
        (work / "run").symlink_to(work / "real_run" if resume else outside / "empty", target_is_directory=True)
        return ["--resume", "--out", str(work / "run"), "--epochs", "3"] if resume else \
            ["--out", str(work / "run"), "--epochs", "1", "--steps-per-epoch", "1"]
    add(Case("link", "train-out-is-link", "train", out_is_link, fragment="link"))
    add(Case("link", "train-resume-out-is-link", "train", lambda w, o: out_is_link(w, o, True), fragment="link"))

    def report_md_link(work, outside):
        run_copy(work, "toy")
        (work / "report").mkdir()
        (work / "report" / "report.md").symlink_to(outside / "thesis.txt")
        return [str(work / "run"), str(work / "toy2"), "--out", str(work / "report"), "--n", "20"]
    add(Case("link", "compare-report-md-link", "compare", two_toys(report_md_link), fragment="link"))
    add(Case("report-out", "compare-out-is-a-run", "compare",
             two_toys(plain(lambda r, w: [str(r), str(w / "toy2"), "--out", str(r), "--n", "20"], "toy")),
             fragment="run folder"))
    for label, text in [("python-tag", "model: !!python/object/apply:os.system [echo hi]\n"),
                        ("deep-nesting", "model:\n  conv_filters: " + "[" * 3000 + "]" * 3000 + "\n"),
                        ("sections-not-mappings", "model: [1, 2]\ntrain: 3\n"),
                        ("unknown-key", "train: {epochs: 1, epoch: 2}\n")]:
        def config_text(work, outside, text=text):
            (work / "c.yaml").write_text(text)
            return ["--config", str(work / "c.yaml"), "--out", str(work / "new")]
        add(Case("bad-config", label, "train", config_text))
    for key, value in [("train.batch_size", "0"), ("train.learning_rate", ".nan"), ("model.latent_dim", "-3"),
                       ("model.conv_filters", "[" * 3000 + "]" * 3000), ("train.epochs", "'3'")]:
        add(Case("bad-config", f"set-{key}-{value[:8]}", "train",
                 no_run(lambda w, k=key, v=value: ["--out", str(w / "new"), "--set", f"{k}={v}"])))
    for label, files in [("empty-folder", {}),
                         ("truncated", {"train-images-idx3-ubyte": b"\x00\x00\x08\x03" + (60000).to_bytes(4, "big")
                                        + (28).to_bytes(4, "big") * 2 + b"\x00" * 100}),
                         ("bad-magic", {"train-images-idx3-ubyte": b"PK\x03\x04" + b"\x00" * 100}),
                         ("bad-gzip", {"train-images-idx3-ubyte.gz": b"\x1f\x8b" + b"\x00" * 50})]:
        def idx_data(work, outside, files=files):
            (work / "idx").mkdir()
            for name, content in files.items():
                (work / "idx" / name).write_bytes(content)
            return ["--out", str(work / "new"), "--set", f"data.source=idx:{work / 'idx'}"]
        add(Case("bad-data", f"idx-{label}", "train", idx_data, fragment="idx"))

    def folder_of_text(work, outside):
        (work / "images" / "a").mkdir(parents=True)
        for i in range(3):
            (work / "images" / "a" / f"{i}.png").write_text("not a picture")
        return ["--out", str(work / "new"), "--set", f"data.source=folder:{work / 'images'}"]
    add(Case("bad-data", "folder-of-text-pngs", "train", folder_of_text, fragment="folder"))
    # damaged run folders
    for label, entry, content, command, argv in [
            ("history-binary", "history.csv", b"\xff\x00\xfe", "compare", None),
            ("model-keras-truncated", "model.keras", b"PK\x03\x04", "evaluate", NLL),
            ("eval-json-deep", "eval.json", b"[" * 100000, "compare", None),
            ("export-info-number", "saved_model/assets/vae_gan_tf.json", b"5", "sample", []),
            ("export-info-deep", "saved_model/assets/vae_gan_tf.json", b"[" * 100000, "sample", []),
            ("train-log-folder", "train.log", None, "train", ["--epochs", "3"]),
            ("history-folder", "history.csv", None, "train", ["--epochs", "3"]),
            ("samples-file", "samples", b"a file", "train", ["--epochs", "3"]),
            ("traverse-config-garbage", "config.yaml", b"a: [", "sample", ["--traverse"]),
            ("export-info-missing", "saved_model/assets/vae_gan_tf.json", None, "evaluate", NLL),
            ("checkpoint-truncated", "checkpoints/latest.weights.h5", b"\x89HDF\r\n", "train", ["--epochs", "3"])]:
        which = "toy" if command == "compare" else "vae"

        def damaged_run(work, outside, entry=entry, content=content, command=command, argv=argv, which=which):
            run = run_copy(work, which)
            path = run / entry
            if path.is_dir():
                shutil.rmtree(path)
            else:
                path.unlink(missing_ok=True)
            if content is None and entry != "saved_model/assets/vae_gan_tf.json":
                path.mkdir()
                (path / "x").write_text("x")
            elif content is not None:
                path.write_bytes(content)
            if command == "compare":
                run_copy(work, "toy2", "toy2")
                return [str(run), str(work / "toy2"), "--out", str(work / "report"), "--n", "20"]
            if command == "train":
                return ["--resume", "--out", str(run), *argv]
            return [str(run), *argv, *(["--out", str(work / "t.png")] if command == "sample" else [])]
        add(Case("damaged-run", label, command, damaged_run))
    add(Case("damaged-run", "history-empty-is-no-curves", "compare",
             two_toys(with_file("history.csv", b"", lambda r, w: [str(r), str(w / "toy2"), "--out", str(w / "report"),
                                                                  "--n", "20"], "toy")),
             code=0, changes=("run/eval.json", "toy2/eval.json", "report/")))
    # the environment
    for variable, value, command in [("VAE_GAN_TF_CACHE", "{work}/run/config.yaml", "evaluate"),
                                     ("TF_CONFIG", "{not json", "train")]:
        def env_case(work, outside, command=command):
            run = run_copy(work, "vae")
            if command == "sample":
                return [str(run), "--n", "4", "--out", str(work / "s.png")]
            if command == "evaluate":
                return [str(run), "--metrics", "fid", "--n", "20"]
            return ["--out", str(work / "new"), "--set", "train.strategy=multi_worker"]
        add(Case("bad-env", f"{variable}-{command}", command, env_case, env={variable: value}))
    # a full disk in the middle of a resumed run, and under an existing report
    add(Case("full-disk", "train-resume", "train", plain(lambda r, w: ["--resume", "--out", str(r), "--epochs", "3"]),
             fragment="no space left", patch="fsync"))

    def existing_report(work, outside):
        run_copy(work, "toy")
        (work / "report" / "images").mkdir(parents=True)
        (work / "report" / "report.md").write_text("the earlier report")
        (work / "report" / "images" / "old.png").write_bytes(b"an earlier picture")
        return [str(work / "run"), str(work / "toy2"), "--out", str(work / "report"), "--n", "20"]
    add(Case("full-disk", "compare-existing-report", "compare", two_toys(existing_report), fragment="no space left",
             patch="fsync@3", changes=("run/eval.json", "toy2/eval.json")))
    add(Case("full-disk", "compare-new-report-late", "compare",
             two_toys(plain(lambda r, w: [str(r), str(w / "toy2"), "--out", str(w / "report"), "--n", "20"], "toy")),
             fragment="no space left", patch="fsync@3", changes=("run/eval.json", "toy2/eval.json")))
    return rows


CASES = cases()
RUNS: dict[str, Path] = {}


@pytest.fixture(scope="module", autouse=True)
def sweep_runs(tiny_run, tmp_path_factory):
    """The runs every case copies: the session's tiny VAE and two tiny 2-D GANs, trained here once."""
    RUNS["vae"] = tiny_run
    root = tmp_path_factory.mktemp("sweep_runs")
    toy = ["--epochs", "1", "--steps-per-epoch", "2", "--verbose", "0", "--set", "data.source=ring8",
           "--set", "model.name=gan", "--set", "model.architecture=mlp", "--set", "model.latent_dim=2",
           "--set", "model.generator_units=[8]", "--set", "model.discriminator_units=[8]",
           "--set", "model.output_activation=linear", "--set", "train.batch_size=32",
           "--set", "data.validation_split=0.0"]
    for name, seed in (("toy", "0"), ("toy2", "1")):
        with pytest.raises(SystemExit) as done:
            run_cli(train.main, ["--out", str(root / name), "--seed", seed, *toy])
        assert done.value.code == 0
        RUNS[name] = root / name
    yield RUNS


def full_disk(monkeypatch, kind: str) -> None:
    """Make the next file write fail with ENOSPC after part of it was written (``fsync@N``: the N-th)."""
    calls = []

    def no_space(*args, **kwargs):
        calls.append(1)
        if kind.startswith("fsync@") and len(calls) < int(kind[6:]):
            return real_fsync(*args, **kwargs)
        raise OSError(errno.ENOSPC, "No space left on device")

    if kind == "savefig":
        import matplotlib.figure

        def torn(fig, path, *args, **kwargs):
            Path(path).write_bytes(b"half a png")
            no_space()
        monkeypatch.setattr(matplotlib.figure.Figure, "savefig", torn)
    else:
        import vae_gan_tf.runs.folder as folder

        real_fsync = folder.os.fsync
        monkeypatch.setattr(folder.os, "fsync", no_space)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input(case, tmp_path, capsys, monkeypatch):
    work, outside = tmp_path / "work", tmp_path / "outside"
    work.mkdir()
    (outside / "dir").mkdir(parents=True)
    (outside / "thesis.txt").write_text("the user's own file")
    (outside / "dir" / "notes.txt").write_text("the user's own notes")
    argv = [a.replace("{work}", str(work)) for a in case.setup(work, outside)]
    for key, value in case.env.items():
        monkeypatch.setenv(key, value.replace("{work}", str(work)))
    monkeypatch.chdir(work)
    before, before_outside = snapshot(work), snapshot(outside)
    if case.patch:
        full_disk(monkeypatch, case.patch)
    capsys.readouterr()
    with pytest.raises(SystemExit) as info:
        run_cli(COMMANDS[case.command], argv)
    monkeypatch.undo()
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert info.value.code == case.code, err[-2000:]
    assert "Traceback" not in err and "usage:" not in err, err[-2000:]
    if case.code == 2:
        assert len(lines) == 1 and lines[0].startswith("error: "), err[-2000:]
        assert len(lines[0]) <= len("error: ") + MAX_LINE + 4 and case.fragment in lines[0], lines[0][:300]
        assert case.cls != "long-value" and case.cls != "yaml-alias" or len(lines[0]) < 400, lines[0][:300]
    assert snapshot(outside) == before_outside  # never written through a link
    after = snapshot(work)
    changed = {p for p in set(before) | set(after) if before.get(p) != after.get(p)}
    assert {p for p in changed if not p.startswith(case.changes)} == set(), sorted(changed)[:5]
    assert not [p for p in after if ".incoming" in p], "a temporary file was left"
    if case.code == 0 and case.command == "train":  # --export-only: the rebuilt export loads and samples
        with pytest.raises(SystemExit) as again:
            run_cli(sample.main, [str(work / "run"), "--n", "4", "--out", str(tmp_path / "s.png")])
        assert again.value.code == 0


def test_the_sweep_covers_every_class_with_at_least_100_cases():
    by_class: dict[str, int] = {}
    for case in CASES:
        by_class[case.cls] = by_class.get(case.cls, 0) + 1
    assert len(CASES) >= 100 and len({c.id for c in CASES}) == len(CASES), by_class
    assert set(by_class) >= {"link", "yaml-alias", "long-value", "bad-json", "resume-config", "argparse",
                             "range", "no-images", "cache", "oserror", "export", "full-disk", "first-pass"}


def test_export_only_rebuilds_a_damaged_export_in_a_fresh_process(tmp_path):
    """``train --resume --export-only`` in a new interpreter (where no model class was imported yet), then
    ``sample``; the in-process cases above cannot see a class that was never registered, nor matplotlib's
    first import: with ``MPLBACKEND=bogus`` (the bad-env class) it ended in a ValueError traceback."""
    from conftest import run_module

    run = run_copy(tmp_path, "vae")
    shutil.rmtree(run / "saved_model" / "variables")
    keras_file = (run / "model.keras").read_bytes()
    result = run_module("vae_gan_tf.train", "--resume", "--export-only", "--out", str(run), "--verbose", "0",
                        env={"MPLBACKEND": "bogus"})
    assert result.returncode == 0 and "rebuilt" in result.stdout, result.stderr[-2000:]
    assert (run / "model.keras").read_bytes() == keras_file
    with pytest.raises(SystemExit) as done:
        run_cli(sample.main, [str(run), "--n", "4", "--out", str(tmp_path / "s.png")])
    assert done.value.code == 0
