"""Import TensorFlow without its start-up C++ log on a CPU machine (issue 14, case 14).

TensorFlow 2.21 writes about seven lines to stderr before its logging is initialised, so
``TF_CPP_MIN_LOG_LEVEL`` does not hide them: absl's "All log messages before absl::InitializeLog()" notice,
oneDNN's round-off note and "Could not find cuda drivers" (twice each, once per loaded library) and
``E0000 ... failed call to cuInit`` when the devices are first listed. The entry points call
:func:`import_tensorflow`, which sets the level to 2 (errors only) and captures stderr's file descriptor
while TensorFlow is imported and lists its devices, then writes back every captured line except those.
A level set by the user is kept, and the noise is dropped at 2 and 3 too (issue 25: ``TF_CPP_MIN_LOG_LEVEL=3``
is a common habit); only a level below 2 (0, 1: more logging) shows everything.
"""

from __future__ import annotations

import os
import sys
import tempfile

from vae_gan_tf.errors import progress_may_follow

NOISE = ("All log messages before absl::InitializeLog()", "oneDNN custom operations are on",
         "Could not find cuda drivers", "failed call to cuInit")


def import_tensorflow() -> None:
    """Import TensorFlow and list its physical devices (which leaves logical devices configurable), with
    the start-up noise above dropped unless ``TF_CPP_MIN_LOG_LEVEL`` asks for more than errors (0 or 1)."""
    progress_may_follow()
    # first: Keras imports matplotlib, which an unknown $MPLBACKEND stops with a traceback; report/plotting.py
    # imports it without the variable (every picture is drawn with Agg) and puts the variable back (issue 25)
    import vae_gan_tf.report.plotting  # noqa: F401

    level = os.environ.get("TF_CPP_MIN_LOG_LEVEL", "").strip()
    if "tensorflow" in sys.modules or level in ("0", "1"):
        import tensorflow  # noqa: F401  (already imported, or the user asked for TensorFlow's log)
        return
    if level not in ("2", "3"):
        os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            import tensorflow as tf

            tf.config.list_physical_devices()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            kept = [line for line in captured.read().decode(errors="replace").splitlines(keepends=True)
                    if not any(fragment in line for fragment in NOISE)]
            sys.stderr.write("".join(kept))
