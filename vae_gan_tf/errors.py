"""One kind of error for bad user input, and the wrapper that turns it into one line and exit code 2."""

import sys

MAX_LINE = 1000  # characters of an error line: a message never prints a huge value whole (issue 25)
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


def excerpt(value, limit: int = 60) -> str:
    """``repr(value)`` cut to ``limit`` characters with its full length named (issue 25: a bad value is
    never printed whole)."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text):,} characters)"


def os_error_line(err: OSError) -> str:
    """One line for an OSError that no check caught: the path(s), the error, and that nothing else was done."""
    paths = " -> ".join(str(p) for p in (err.filename, err.filename2) if p is not None)
    reason = err.strerror or first_line(err)
    if getattr(err, "errno", None) == 28:  # ENOSPC
        reason += "; files already in place were kept whole (they are written under a temporary name)"
    return f"{paths}: {reason}" if paths else reason


def run_cli(main, argv=None):
    """Run ``main(argv)``; a ``UserError`` becomes ``error: <message>`` on stderr and exit code 2, and so does
    any ``OSError`` that escapes (issue 25), as one line naming the path and the error."""
    try:
        code = main(argv)
    except UserError as err:
        end_progress_line()
        line = str(err).splitlines()[0] if str(err).strip() else type(err).__name__
        print(f"error: {line if len(line) <= MAX_LINE else line[:MAX_LINE] + ' ...'}", file=sys.stderr)
        sys.exit(2)
    except OSError as err:
        end_progress_line()
        print(f"error: {os_error_line(err)}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(130)
    sys.exit(code or 0)
