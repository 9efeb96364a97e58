"""``dvcall simulate``: a genome, a truth VCF and aligned reads (the options of
:mod:`dvcall.simulate`)."""

import click


@click.command("simulate", add_help_option=False,
               context_settings={"ignore_unknown_options": True})
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def simulate_command(args):
    """Simulate a genome, truth VCF and aligned reads (dvcall simulate --help: the options)."""
    from dvcall.simulate import main as simulate_main

    simulate_main(list(args))
