"""The ``dvcall`` command group and the console script."""

import os
import sys

import click

from dvcall import __version__
from dvcall.cli.call import call_command
from dvcall.cli.evaluate import evaluate_command
from dvcall.cli.regions import regions_command
from dvcall.cli.simulate import simulate_command
from dvcall.cli.train import train_command


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="dvcall")
def main() -> None:
    """dvcall: germline SNP and indel calling with a differentiable JAX pipeline."""


for command in (call_command, train_command, evaluate_command, regions_command,
                simulate_command):
    main.add_command(command)


def run() -> None:
    """The console script: :func:`main`, then exit without the interpreter's teardown of
    JAX and XLA (most of a second after the last record, on every run). Outputs are closed and
    renamed into place by then; only the standard streams need flushing."""
    try:
        main()
        code = 0
    except SystemExit as exc:
        if exc.code is None or isinstance(exc.code, int):
            code = exc.code or 0
        else:
            click.echo(str(exc.code), err=True)
            code = 1
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe: nothing more can be said there
            code = code or 1
    os._exit(code)
