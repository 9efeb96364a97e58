"""``dvcall evaluate``: precision, recall and F1 against a truth VCF."""

from pathlib import Path

import click

from dvcall.cli.common import fail, fail_unexpected, quiet_htslib


@click.command("evaluate")
@click.option("--calls", required=True, type=click.Path(path_type=Path),
              help="the VCF to score (bgzip or plain)")
@click.option("--truth", required=True, type=click.Path(path_type=Path),
              help="the truth VCF (its PASS records)")
@click.option("-f", "--ref", required=True, type=click.Path(path_type=Path),
              help="the FASTA both VCFs were made on")
@click.option("--bed", type=click.Path(path_type=Path),
              help="score only inside these confident regions  [default: everywhere]")
@click.option("--json", "json_path", type=click.Path(path_type=Path),
              help="write the figures (JSON) here  [default: none]")
@click.option("--roc", "roc_path", type=click.Path(path_type=Path),
              help="write precision/recall per QUAL threshold (TSV)  [default: none]")
@click.option("--errors", "errors_path", type=click.Path(path_type=Path),
              help="write each genotype-aware FP and FN (TSV)  [default: none]")
@click.option("--all-records", is_flag=True,
              help="count non-PASS calls too (for callers without a PASS filter)")
@click.option("--debug", is_flag=True, help="show tracebacks and htslib's warnings")
def evaluate_command(calls, truth, ref, bed, json_path, roc_path, errors_path, all_records,
                     debug):
    """Precision, recall and F1 of SNPs and indels against a truth VCF."""
    from dvcall.errors import InputError
    from dvcall.evaluate import evaluate, format_table, write_errors, write_json, write_roc
    from dvcall.io.files import check_output_path

    quiet_htslib(debug)
    try:
        for path, option in ((json_path, "--json"), (roc_path, "--roc"),
                             (errors_path, "--errors")):
            if path is not None:
                check_output_path(path, "figures", option)
        result = evaluate(calls, truth, ref, bed, all_records)
        click.echo(format_table(result))
        if json_path:
            write_json(result, json_path)
        if roc_path:
            write_roc(result, roc_path)
        if errors_path:
            write_errors(result, errors_path)
    except InputError as exc:
        if debug:
            raise
        fail(str(exc))
    except Exception as exc:  # noqa: BLE001 -- the one-line promise holds for our bugs too
        if debug:
            raise
        fail_unexpected(exc)
