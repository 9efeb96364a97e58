"""``dvcall evaluate``: precision, recall and F1 against a truth VCF."""

from pathlib import Path

import click

from dvcall.cli.common import fail, quiet_htslib


@click.command("evaluate")
@click.option("--calls", required=True, type=click.Path(path_type=Path))
@click.option("--truth", required=True, type=click.Path(path_type=Path))
@click.option("--ref", required=True, type=click.Path(path_type=Path))
@click.option("--bed", type=click.Path(path_type=Path), help="confident regions")
@click.option("--json", "json_path", type=click.Path(path_type=Path), help="write figures here")
@click.option("--roc", "roc_path", type=click.Path(path_type=Path),
              help="write precision/recall per QUAL threshold (TSV)")
@click.option("--errors", "errors_path", type=click.Path(path_type=Path),
              help="write each genotype-aware FP and FN (TSV)")
@click.option("--all-records", is_flag=True, help="count non-PASS calls too")
@click.option("--debug", is_flag=True, help="show tracebacks and htslib's warnings")
def evaluate_command(calls, truth, ref, bed, json_path, roc_path, errors_path, all_records,
                     debug):
    """Precision, recall and F1 of SNPs and indels against a truth VCF."""
    from dvcall.errors import InputError
    from dvcall.evaluate import evaluate, format_table, write_errors, write_json, write_roc

    quiet_htslib(debug)
    try:
        result = evaluate(calls, truth, ref, bed, all_records)
    except InputError as exc:
        if debug:
            raise
        fail(str(exc))
    click.echo(format_table(result))
    if json_path:
        write_json(result, json_path)
    if roc_path:
        write_roc(result, roc_path)
    if errors_path:
        write_errors(result, errors_path)
