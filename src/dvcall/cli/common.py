"""What every subcommand shares: the one-line error exit, signals, htslib's verbosity.

Exit codes: 0 success, 1 bad input (a one-line message on stderr), 2 usage error (click),
130 interrupted. Logs and progress go to stderr only; results to files or stdout.
"""

import signal
import sys
import threading
import time

import click

EXIT_BAD_INPUT = 1
EXIT_INTERRUPTED = 130
started = time.perf_counter()  # when the CLI was imported: the run's own clock


def fail(message: str) -> None:
    click.echo(f"dvcall: error: {message}", err=True)
    sys.exit(EXIT_BAD_INPUT)


def fail_unexpected(exc: BaseException) -> None:
    """A bug of ours, not the user's input: still one line, and how to report it."""
    fail(f"unexpected {type(exc).__name__}: {exc}; this is a bug in dvcall: rerun with "
         "--debug for the traceback and report it")


def warn(message: str) -> None:
    click.echo(f"dvcall: warning: {message}", err=True)


def sample_name_option(ctx, param, value):
    """A sample name that fits a VCF header: no tabs, newlines or other control characters."""
    if value is not None and (not value.strip() or any(ord(c) < 32 for c in value)):
        raise click.BadParameter("a sample name must be non-empty and hold no tab, newline or "
                                 "other control character")
    return value


def log(message: str) -> None:
    click.echo(message, err=True)


def quiet_htslib(debug: bool) -> None:
    """htslib writes its own warnings to stderr; we report problems ourselves, in one line."""
    if not debug:
        import pysam

        pysam.set_verbosity(0)


_STOP = threading.Event()


def install_signal_handlers(deferred: bool = False) -> None:
    """SIGTERM behaves like Ctrl-C, so context managers remove temporary files.

    ``deferred``: the handler only records the signal and :func:`check_stop` raises at the
    next safe point (between chunks). An exception raised straight from a handler can land in
    a garbage-collection callback of JAX's, where Python prints and swallows it.
    """
    def handler(signum, frame):
        if not deferred:
            raise KeyboardInterrupt
        _STOP.set()

    signal.signal(signal.SIGTERM, handler)
    if deferred:
        signal.signal(signal.SIGINT, handler)


def check_stop() -> None:
    if _STOP.is_set():
        raise KeyboardInterrupt
