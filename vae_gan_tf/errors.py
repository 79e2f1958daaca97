"""One kind of error for bad user input, and the wrapper that turns it into one line and exit code 2."""

import sys


def first_line(err: BaseException, limit: int = 160) -> str:
    """The first line of an exception's message (or its type name), for one-line error reports."""
    text = str(err).strip()
    return text.splitlines()[0][:limit] if text else type(err).__name__


class UserError(Exception):
    """Bad input (config, path, data, checkpoint, strategy): the message names what is wrong and the fix."""


def run_cli(main, argv=None):
    """Run ``main(argv)``; a ``UserError`` becomes ``error: <message>`` on stderr and exit code 2."""
    try:
        code = main(argv)
    except UserError as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(130)
    sys.exit(code or 0)
