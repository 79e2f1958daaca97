"""Run-folder safety without TensorFlow: the marker that recognises a run, the exclusive lock, the
overwrite that keeps the old run until the new one has finished, and atomic writes of final artefacts.

- **Marker** ``RUN/.vae_gan_tf_run``: written when this tool creates a run folder. ``--overwrite`` only
  replaces a folder that has it and whose entries are all in :data:`RUN_ENTRIES`.
- **Lock**: ``fcntl.flock`` on the marker, held for the whole run. The marker is created under a temporary
  name, locked, then hard-linked into place, so that no second run can lock it first. The holder's PID is
  read from ``/proc/locks`` (Linux), so locking writes nothing into the folder.
- **Overwrite**: the new run trains into the hidden sibling ``.NAME.overwrite``; only when it has finished
  is the old folder swapped out and deleted. On any failure the sibling is deleted and the old run is left
  as it was.
- **One writer** (issue 25): :func:`atomic` (and :func:`write_text`, :func:`write_bytes`, :func:`append_text`,
  :func:`output_folder` on top of it) is how every artefact and output is written: a temporary name beside
  the target, renamed over it only after the writer returned, so a full disk never tears a file and a link
  at the destination is replaced, never written through. A destination that is a link out of its folder,
  or below a folder link, is refused; ENOSPC is :class:`NoSpaceLeft`, one line saying what was kept.
  :func:`staged_folder` makes a whole output (compare's report) appear at once, or not at all.
- **Checks before writing**: :func:`check_run_folder` (no link out of a run folder, every entry of its
  kind) before a command writes into a run; :func:`check_training_folder` adds no link at all where
  TensorBoard and the logs write in place.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import shutil
from pathlib import Path

from vae_gan_tf import __version__
from vae_gan_tf.errors import UserError

MARKER = ".vae_gan_tf_run"
# The run folder's entries (what each holds: training/fit.py's docstring). Name them through these constants.
CONFIG_FILE = "config.yaml"  # the resolved config (what --resume continues)
CHECKPOINTS = "checkpoints"  # training.callbacks.ResumableBackup
HISTORY_FILE = "history.csv"
LOGS = "logs"  # TensorBoard
SAMPLES = "samples"
TRAIN_LOG = "train.log"
MODEL_FILE = "model.keras"
SAVED_MODEL = "saved_model"
RECONSTRUCTIONS = "reconstructions.png"
CURVES = "curves.png"
METRICS_FILE = "metrics.json"
EVAL_FILE = "eval.json"  # evaluate
USES_FILE = "uses.json"  # complete / denoise --metrics (uses/restorer.py)
USES = "uses"  # their grids
# Every top-level name this tool writes into a run folder: ``--overwrite`` refuses folders that hold others.
RUN_ENTRIES = frozenset({MARKER, CONFIG_FILE, CHECKPOINTS, HISTORY_FILE, LOGS, SAMPLES, TRAIN_LOG, MODEL_FILE,
                         SAVED_MODEL, RECONSTRUCTIONS, CURVES, METRICS_FILE, EVAL_FILE, USES_FILE, USES})
INCOMING = ".incoming"  # infix of the temporary names of atomic writes


def is_run_folder(path: Path) -> bool:
    """Whether ``path`` carries the marker this tool writes into every run folder it creates."""
    marker = Path(path) / MARKER
    try:
        return json.loads(marker.read_text()).get("written_by") == "vae_gan_tf"
    except (OSError, ValueError, AttributeError, RecursionError):
        return False


def foreign_entries(path: Path) -> list[str]:
    """The top-level entries of ``path`` that this tool did not write (sorted)."""
    return sorted(p.name for p in Path(path).iterdir() if p.name not in RUN_ENTRIES and INCOMING not in p.name)


def holder_pid(path: Path) -> int | None:
    """The PID holding a ``flock`` on ``path``, from ``/proc/locks`` (None where unknown)."""
    try:
        stat = os.stat(path)
        lines = Path("/proc/locks").read_text().splitlines()
    except OSError:
        return None
    wanted = [os.major(stat.st_dev), os.minor(stat.st_dev), stat.st_ino]
    for line in lines:  # "1: FLOCK  ADVISORY  WRITE 4940 fe:00:2147579 0 EOF"
        fields = line.split()
        if len(fields) > 5 and fields[1] == "FLOCK":
            major, minor, inode = fields[5].split(":")
            if [int(major, 16), int(minor, 16), int(inode)] == wanted:
                return int(fields[4])
    return None


class RunLock:
    """An exclusive ``flock`` on a run folder's marker, held until :meth:`release` (or process exit)."""

    def __init__(self, folder: Path, fd: int, created_marker: bool, created_folder: bool):
        self.folder, self.fd = Path(folder), fd
        self.created_marker, self.created_folder = created_marker, created_folder

    def release(self) -> None:
        os.close(self.fd)

    def undo(self) -> None:
        """Remove what taking the lock created (a refused run leaves the disk as it found it)."""
        self.release()
        if self.created_folder:
            shutil.rmtree(self.folder, ignore_errors=True)
        elif self.created_marker:
            (self.folder / MARKER).unlink(missing_ok=True)


def _in_use(folder: Path) -> UserError:
    pid = holder_pid(folder / MARKER)
    who = f"PID {pid}" if pid is not None else "another process"
    return UserError(f"run folder {folder} is in use by another training run ({who}); wait for it to end "
                     "or pick another --out")


def check_not_in_use(folder: Path) -> None:
    """A UserError naming the holder's PID if another run holds ``folder``'s lock."""
    marker = Path(folder) / MARKER
    if marker.is_file() and holder_pid(marker) is not None:
        raise _in_use(Path(folder))


def lock(folder: Path) -> RunLock:
    """Lock ``folder`` (made if missing), writing its marker first if it has none; a UserError naming the
    holder's PID if another run has it. Nothing else is written."""
    folder = Path(folder)
    created_folder = not folder.exists()
    folder.mkdir(parents=True, exist_ok=True)
    marker = folder / MARKER
    created_marker = False
    if not marker.exists():
        incoming = folder / f"{MARKER}{INCOMING}.{os.getpid()}"
        fd = os.open(incoming, os.O_CREAT | os.O_RDWR | os.O_TRUNC, 0o644)
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        os.write(fd, json.dumps({"written_by": "vae_gan_tf", "version": __version__}).encode())
        try:
            os.link(incoming, marker)  # atomic: fails if another run linked its marker first
            created_marker = True
        except FileExistsError:
            os.close(fd)
        else:
            return RunLock(folder, fd, created_marker, created_folder)
        finally:
            incoming.unlink(missing_ok=True)
    fd = os.open(marker, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise _in_use(folder) from None
    return RunLock(folder, fd, created_marker, created_folder)


def mark(folder: Path) -> None:
    """Give ``folder`` (made if missing) the marker if it has none (runs trained from Python, not the CLI)."""
    if not (Path(folder) / MARKER).exists():
        lock(folder).release()


def has_final_artefacts(folder: Path) -> bool:
    """Whether a run's final artefacts exist and load: ``model.keras`` a whole zip archive, the SavedModel's
    ``saved_model.pb`` and ``metrics.json`` readable JSON (they are written last, by ``training.finish_run``)."""
    import zipfile

    folder = Path(folder)
    try:
        with zipfile.ZipFile(folder / MODEL_FILE) as archive:
            if archive.testzip() is not None:
                return False
        json.loads((folder / METRICS_FILE).read_text())
    except (OSError, ValueError, zipfile.BadZipFile):
        return False
    saved = folder / SAVED_MODEL
    pb = saved / "saved_model.pb"  # a SavedModel with its variables (issue 25: variables/ removed, pb empty)
    return pb.is_file() and pb.stat().st_size > 0 and (saved / "variables" / "variables.index").is_file()


def overwrite_sibling(folder: Path) -> Path:
    """The hidden folder beside ``folder`` that an ``--overwrite`` run trains into. A leftover one from a
    run that was killed is removed if it is a run folder no process holds; anything else is refused."""
    folder = Path(folder)
    sibling = folder.parent / f".{folder.name}.overwrite"
    if sibling.exists():
        check_not_in_use(sibling)
        if not is_run_folder(sibling) or foreign_entries(sibling):
            raise UserError(f"{sibling} is in the way of --overwrite and was not written by this tool; "
                            "move it away")
        shutil.rmtree(sibling)
    return sibling


def swap_in(new: Path, folder: Path) -> None:
    """Replace the run ``folder`` by the finished run ``new``: rename the old one aside, rename ``new``
    into place, then delete the old one (every entry of which this tool wrote: ``foreign_entries``)."""
    folder, new = Path(folder), Path(new)
    old = folder.parent / f".{folder.name}.replaced"
    shutil.rmtree(old, ignore_errors=True)
    os.rename(folder, old)
    os.rename(new, folder)
    shutil.rmtree(old)


CONFIG_ATTRIBUTE = "vae_gan_tf_config"  # a root attribute of checkpoints/latest.weights.h5 (training/callbacks.py)


def recorded_config(checkpoint: Path) -> dict | None:
    """The config a checkpoint was trained with (None for checkpoints written before it was recorded)."""
    import h5py

    with h5py.File(checkpoint, "r") as f:
        text = f.attrs.get(CONFIG_ATTRIBUTE)
    return None if text is None else json.loads(text)


def first_difference(config: dict, recorded: dict, allowed: tuple) -> tuple | None:
    """(key, value in ``config``, value in ``recorded``) of the first ``section.key`` that differs, keys in
    ``allowed`` aside; None if none does."""
    for section in sorted(set(config) | set(recorded)):
        ours, theirs = config.get(section) or {}, recorded.get(section) or {}
        for key in sorted(set(ours) | set(theirs)):
            name = f"{section}.{key}"
            if name not in allowed and ours.get(key) != theirs.get(key):
                return name, ours.get(key), theirs.get(key)
    return None


def is_no_space(err: BaseException) -> bool:
    """Whether ``err`` (an OSError, or TensorFlow's or h5py's wrapper of one) means the disk is full."""
    return getattr(err, "errno", None) == errno.ENOSPC or "No space left on device" in str(err)


def read_json(path: Path, what: str = "", fix: str = "", expect: type = dict):
    """The JSON object in ``path``; a UserError naming the file (and ``fix``) if it is unreadable, not JSON,
    or not a ``expect`` (issue 25: a damaged eval.json, metrics.json or cache file is one line)."""
    path = Path(path)
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except OSError as err:
        problem = f"cannot be read ({err.strerror or err})"
    except (ValueError, UnicodeDecodeError) as err:
        problem = f"is not valid JSON ({str(err).splitlines()[0][:80]})"
    except RecursionError:  # json's nesting limit (issue 25: "[" * 100000)
        problem = "is nested too deeply to be read"
    else:
        if isinstance(value, expect):
            return value
        problem = f"holds a {type(value).__name__}, not a JSON {'object' if expect is dict else expect.__name__}"
    raise UserError(f"{what or 'the file'} {path} {problem}; {fix or 'delete it or write it again'}")


class NoSpaceLeft(UserError):
    """The disk filled while an artefact was written (ENOSPC): the message says what was kept."""

    errno = errno.ENOSPC


def _inside(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def check_destination(path: Path, root: Path | None = None) -> Path:
    """``path`` if writing it stays inside ``root`` (default: its folder): a UserError for a destination that
    is a link resolving out of ``root``, or for a folder link between ``root`` and it (issue 25)."""
    path = Path(path).absolute()
    root = Path(root).absolute() if root is not None else path.parent
    real_root = root.resolve()
    if root != path and not _inside(path, root):
        raise UserError(f"{path} is outside {root}; refusing to write it")
    for folder in [p for p in path.parents if _inside(p, root) and p != root][::-1]:
        if folder.is_symlink():
            raise UserError(f"{folder} is a link (to {os.readlink(folder)}); refusing to write {path.name} "
                            f"through it: replace the link by a folder")
    if path.is_symlink() and not _inside(path.resolve(), real_root):
        raise UserError(f"{path} is a link to {os.readlink(path)}, outside {root}; refusing to write through "
                        "it: remove the link or pick another name")
    return path


def check_no_links(path: Path, what: str) -> None:
    """A UserError if ``path``, or anything below it, is a link, whatever it points to: for what other
    writers write in place (TensorBoard's event files under ``logs/``) and for a report's ``--out``."""
    path = Path(path)
    if path.is_symlink():
        raise UserError(f"{what} {path} is a link (to {os.readlink(path)}); refusing to write through it: "
                        "replace the link by a real folder or file")
    inner = next((p for p in path.rglob("*") if p.is_symlink()), None) if path.is_dir() else None
    if inner is not None:
        raise UserError(f"{what} {path} holds the link {inner} (to {os.readlink(inner)}); refusing to write "
                        "through it: remove the link first")


def output_folder(path: Path, what: str = "--out") -> Path:
    """Make the output folder ``path`` (a report's ``--out``): a UserError if it, or a folder inside it, is
    a link, or if a file is in the way. Files are then written into it with :func:`atomic`."""
    path = Path(path)
    check_no_links(path, what)
    if path.exists() and not path.is_dir():
        raise UserError(f"{what} {path} is a file, not a folder; pick another {what}")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise UserError(f"cannot make the folder {what} {path} ({err.strerror or err}); pick another {what}") \
            from None
    return path


@contextlib.contextmanager
def staged_folder(path: Path, files: tuple = (), folders: tuple = (), what: str = "--out"):
    """Yield a hidden folder inside the output folder ``path`` (made if missing) to write a whole output
    into, of these ``files`` and ``folders`` (a report: its pages and images/); when the block succeeds each
    is moved over the entry of its name in ``path`` (a folder swapped as by :func:`atomic`), folders first,
    so that the new output appears at once. On failure ``path`` is left as it was, or removed if it was made
    here (issue 25: a failed ``compare`` left new pictures). An entry of the wrong kind is refused first."""
    path = Path(path)
    for name in (*files, *folders):
        entry = path / name
        if entry.exists() and entry.is_dir() != (name in folders):
            kind = "folder" if entry.is_dir() else "file"
            raise UserError(f"{what} {path} holds a {kind} {name} where the output puts a "
                            f"{'file' if kind == 'folder' else 'folder'}; move it away or pick another {what}")
    created = not path.exists()
    output_folder(path, what)
    staging = path / f".staged{INCOMING}-{os.getpid()}"
    try:
        _remove(staging)
        staging.mkdir()
        yield staging
        for name in (*folders, *files):
            if (staging / name).exists():
                with atomic(path / name, path) as incoming:
                    os.rename(staging / name, incoming)
    except BaseException as err:
        shutil.rmtree(path if created else staging, ignore_errors=True)
        if isinstance(err, Exception) and is_no_space(err):  # named by its place, not the hidden folder's
            kept = "it was removed again" if created else "what it held was kept as it was"
            raise NoSpaceLeft(f"no space left on device while writing into {what} {path}; {kept}; free some "
                              "space and run the command again") from None
        raise
    _remove(staging)


def writable_folder(path: Path, what: str) -> Path:
    """Make the folder ``path`` and check that a file can be written in it, before long work whose result goes
    there (issue 25: a classifier trained for minutes, then a traceback); a UserError naming ``what``."""
    path = Path(path)
    blocking = next((p for p in (path, *path.parents) if p.exists() and not p.is_dir()), None)
    if blocking is not None:
        raise UserError(f"{what} {path} cannot be made: {blocking} is a file, not a folder; point it at a folder")
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / f".write_probe{INCOMING}-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as err:
        raise UserError(f"{what} {path} is not writable ({err.strerror or err}); point it at a writable "
                        "folder") from None
    return path


def check_no_links_out(folder: Path) -> None:
    """A UserError if anything inside the run folder ``folder`` is a link that resolves out of it."""
    folder = Path(folder)
    if not folder.is_dir():
        return
    real = folder.resolve()
    for entry in folder.rglob("*"):
        if entry.is_symlink() and not _inside(entry.resolve(), real):
            raise UserError(f"{entry} is a link to {os.readlink(entry)}, outside the run folder {folder}; "
                            "refusing to write through it: remove the link")


FOLDERS = frozenset({CHECKPOINTS, LOGS, SAMPLES, SAVED_MODEL, USES})  # the entries that are folders


def check_run_folder(folder: Path) -> None:
    """Before a command writes into the run folder ``folder``: a UserError for a link in it that resolves
    out of it (:func:`check_no_links_out`) and for an entry of the wrong kind, a folder where this tool
    writes a file or the reverse (issue 25: found only after the work, or half-way through a resume)."""
    check_no_links_out(folder)
    for name in sorted(RUN_ENTRIES - {MARKER}):
        entry = Path(folder) / name
        if entry.exists() and entry.is_dir() != (name in FOLDERS):
            kind, wanted = ("a folder", "a file") if entry.is_dir() else ("a file", "a folder")
            raise UserError(f"{entry} is {kind}, where this tool keeps {wanted}; move it out of the run folder")


def check_training_folder(folder: Path) -> None:
    """Before training writes into ``folder``: :func:`check_run_folder`, and no link at all at the folder
    itself, at history.csv and train.log (appended to) or under logs/ (TensorBoard writes its event files in
    place), even one that stays inside the folder."""
    folder = Path(folder)
    if folder.is_symlink():
        raise UserError(f"--out {folder} is a link (to {os.readlink(folder)}); give the real folder")
    check_run_folder(folder)
    for name in (LOGS, HISTORY_FILE, TRAIN_LOG):
        check_no_links(folder / name, "the run's")


@contextlib.contextmanager
def atomic(path: Path, root: Path | None = None):
    """Yield a temporary name beside ``path`` (same suffixes, so writers that infer the format from them work);
    when the block succeeds rename it over ``path`` (a folder is swapped), otherwise delete it. The
    destination is checked first (:func:`check_destination`); ENOSPC becomes :class:`NoSpaceLeft`."""
    path = check_destination(path, root)
    base, dot, suffixes = path.name.partition(".") if not path.name.startswith(".") else (path.name, "", "")
    incoming = path.with_name(f"{base}{INCOMING}-{os.getpid()}{dot}{suffixes}")  # x.incoming-PID.weights.h5
    existed = path.exists()
    _remove(incoming)
    try:
        yield incoming
        if incoming.is_dir() and path.exists() and not path.is_symlink():
            aside = path.with_name(f"{path.name}{INCOMING}.old")
            _remove(aside)
            os.rename(path, aside)
            os.rename(incoming, path)
            _remove(aside)
        else:
            os.replace(incoming, path)
    except BaseException as err:
        _remove(incoming)
        if isinstance(err, Exception) and not isinstance(err, UserError) and is_no_space(err):
            kept = f"the existing {path} was kept as it was" if existed else f"{path} was not written"
            raise NoSpaceLeft(f"no space left on device while writing {path}; {kept}; free some space and "
                              "run the command again") from None
        raise


def write_bytes(path: Path, data: bytes, root: Path | None = None) -> Path:
    """Write ``data`` to ``path`` through :func:`atomic`."""
    with atomic(path, root) as incoming:
        with open(incoming, "xb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
    return Path(path)


def write_text(path: Path, text: str, root: Path | None = None) -> Path:
    """Write ``text`` (UTF-8) to ``path`` through :func:`atomic`."""
    return write_bytes(path, text.encode("utf-8"), root)


def append_text(path: Path, text: str, root: Path | None = None) -> Path:
    """Append ``text`` to ``path`` (logs) through :func:`atomic`: the old content plus ``text`` under a
    temporary name, renamed over it, so a full disk keeps the log as it was and a link is never followed."""
    path = check_destination(path, root)
    old = b"" if not path.exists() or path.is_symlink() else path.read_bytes()
    return write_bytes(path, old + text.encode("utf-8"), root)


def copy_file(source: Path, path: Path, root: Path | None = None) -> Path:
    """Copy ``source`` to ``path`` through :func:`atomic`."""
    with atomic(path, root) as incoming:
        shutil.copyfile(source, incoming)
    return Path(path)


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def file_digest(path: Path, algorithm: str = "sha1") -> str:
    """The hex digest of a file's bytes (``hashlib`` ``algorithm``), read in 4 MiB blocks: the checksums of
    the caches (FID weights, reference statistics, the dsprites_like grid)."""
    import hashlib

    digest = hashlib.new(algorithm)
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 22), b""):
            digest.update(block)
    return digest.hexdigest()


def cache_root() -> Path:
    """$VAE_GAN_TF_CACHE, default ~/.cache/vae_gan_tf: a UserError when it names a file (issue 25: it was
    reported as "no classifier trained", and training one then crashed)."""
    root = Path(os.environ.get("VAE_GAN_TF_CACHE") or Path.home() / ".cache" / "vae_gan_tf")
    blocking = next((p for p in (root, *root.parents) if p.exists() and not p.is_dir()), None)
    if blocking is not None:
        raise UserError(f"VAE_GAN_TF_CACHE={root}: {blocking} is a file, not a folder; point it at a folder (or "
                        "unset it for ~/.cache/vae_gan_tf)")
    return root
