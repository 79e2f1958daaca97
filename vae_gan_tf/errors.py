"""One kind of error for bad user input, and the wrapper that turns it into one line and exit code 2."""

import sys

_progress = {"open": False}  # whether a Keras progress bar may have left stdout mid-line


def first_line(err: BaseException, limit: int = 160) -> str:
    """The first line of an exception's message (or its type name), for one-line error reports."""
    text = str(err).strip()
    return text.splitlines()[0][:limit] if text else type(err).__name__


class UserError(Exception):
    """Bad input (config, path, data, checkpoint, strategy): the message names what is wrong and the fix."""


def progress_may_follow() -> None:
    """From now on a Keras progress bar may leave stdout mid-line (see :func:`end_progress_line`)."""
    _progress["open"] = True


def end_progress_line() -> None:
    """End a progress bar's line on stdout, so that an error line starts on a line of its own."""
    if _progress["open"]:
        print(flush=True)
        _progress["open"] = False


def run_cli(main, argv=None):
    """Run ``main(argv)``; a ``UserError`` becomes ``error: <message>`` on stderr and exit code 2."""
    try:
        code = main(argv)
    except UserError as err:
        end_progress_line()
        print(f"error: {err}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(130)
    sys.exit(code or 0)
