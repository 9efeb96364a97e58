"""A model's QUAL calibration travels in its file: written, read back, applied by `dvcall call`,
and refused in one line when damaged."""

import json
import shutil

import numpy as np
import pysam
import pytest
from conftest import run_dvcall
from safetensors import safe_open
from safetensors.numpy import load_file

from dvcall.errors import InputError
from dvcall.model.calibration import (
    CALIBRATION_KEY,
    INDEL_NOISE_KEY,
    read_calibration,
    read_indel_noise,
    read_snp_noise,
    write_calibration,
    write_indel_noise,
    write_snp_noise,
)
from dvcall.model.shipped import default_model_path
from dvcall.postprocess.genotypes import calibrated_p_ref
from dvcall.postprocess.thresholds import QUAL_CALIBRATION, SNP_ONE_READ


def test_the_shipped_model_carries_the_calibration_in_thresholds():
    carried = read_calibration(default_model_path())
    for kind, (a, b) in QUAL_CALIBRATION.items():  # written rounded to 4 places
        assert carried[kind] == pytest.approx((a, b), abs=1e-4)


def test_writing_a_calibration_keeps_weights_and_metadata(tmp_path):
    model = tmp_path / "m.safetensors"
    shutil.copy(default_model_path(), model)
    write_calibration(model, {"SNP": (1.0, 0.0), "INDEL": (0.5, -1.0)})
    # a fit without one for SNPs of one read (as written before they had one): its SNP fit's
    assert read_calibration(model) == {"SNP": (1.0, 0.0), "INDEL": (0.5, -1.0),
                                       SNP_ONE_READ: (1.0, 0.0)}
    write_calibration(model, {"SNP": (1.0, 0.0), "INDEL": (0.5, -1.0), SNP_ONE_READ: (0.5, -2)})
    assert read_calibration(model)[SNP_ONE_READ] == (0.5, -2.0)
    before, after = load_file(str(default_model_path())), load_file(str(model))
    assert before.keys() == after.keys()
    assert all(np.array_equal(before[k], after[k]) for k in before)
    with safe_open(str(default_model_path()), "numpy") as a, safe_open(str(model), "numpy") as b:
        old, new = a.metadata(), b.metadata()
    assert {k: v for k, v in old.items() if k != CALIBRATION_KEY} == {
        k: v for k, v in new.items() if k != CALIBRATION_KEY}


def test_call_applies_the_model_files_calibration(tmp_path, testdata):
    """The same weights with an identity calibration write the model's raw QUAL."""
    model = tmp_path / "identity.safetensors"
    shutil.copy(default_model_path(), model)
    write_calibration(model, {"SNP": (1.0, 0.0), "INDEL": (1.0, 0.0)})
    region = "chr1:1-30000"
    shipped, identity = tmp_path / "shipped.vcf", tmp_path / "identity.vcf"
    run_dvcall("call", "--bam", testdata / "reads.bam", "--ref", testdata / "ref.fa",
               "-r", region, "-o", shipped)
    run_dvcall("call", "--bam", testdata / "reads.bam", "--ref", testdata / "ref.fa",
               "-r", region, "-o", identity, "--model", model)
    a, b = (list(pysam.VariantFile(str(p))) for p in (shipped, identity))
    assert [r.pos for r in a] == [r.pos for r in b] and len(a) > 10
    checked = 0
    for x, y in zip(a, b):
        if y.qual < 90:  # below the cap: undo the shipped calibration, compare
            raw_p_ref = 10 ** (-y.qual / 10)
            one_read = x.info["VT"] == "SNP" and max(x.samples[0]["AD"][1:]) == 1
            kind = SNP_ONE_READ if one_read else x.info["VT"]
            expected = -10 * np.log10(calibrated_p_ref(raw_p_ref, kind))
            assert x.qual == pytest.approx(expected, abs=0.06)
            checked += 1
    assert checked > 5


def test_a_damaged_calibration_is_one_line_error(tmp_path, testdata):
    model = tmp_path / "damaged.safetensors"
    shutil.copy(default_model_path(), model)
    write_calibration(model, {"SNP": (1.0, 0.0), "INDEL": (1.0, 0.0)})
    from safetensors.numpy import save_file

    with safe_open(str(model), "numpy") as fh:
        metadata = dict(fh.metadata())
    metadata[CALIBRATION_KEY] = json.dumps({"SNP": [1.0]})
    save_file(load_file(str(model)), str(model), metadata=metadata)
    with pytest.raises(InputError, match="QUAL calibration is damaged"):
        read_calibration(model)
    result = run_dvcall("call", "--bam", testdata / "reads.bam", "--ref", testdata / "ref.fa",
                        "-r", "chr1:1-1000", "-o", tmp_path / "out.vcf", "--model", model,
                        check=False)
    assert result.returncode != 0
    assert "QUAL calibration is damaged" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "out.vcf").exists()


def test_indel_noise_is_written_read_back_and_a_damaged_one_refused(tmp_path):
    model = tmp_path / "noise.safetensors"
    shutil.copy(default_model_path(), model)
    assert read_indel_noise(model) is None  # the shipped file: INDEL_NOISE_TRAINED applies
    write_indel_noise(model, 3.5e-5)
    assert read_indel_noise(model) == 3.5e-5
    assert read_calibration(model) == read_calibration(default_model_path())
    from safetensors.numpy import save_file

    with safe_open(str(model), "numpy") as fh:
        metadata = dict(fh.metadata())
    metadata[INDEL_NOISE_KEY] = "-1"
    save_file(load_file(str(model)), str(model), metadata=metadata)
    with pytest.raises(InputError, match="indel noise"):
        read_indel_noise(model)


def test_snp_noise_is_written_read_back_and_a_damaged_one_refused(tmp_path):
    model = tmp_path / "noise.safetensors"
    shutil.copy(default_model_path(), model)
    assert read_snp_noise(model) is None  # the shipped file: SNP_NOISE_TRAINED applies
    write_snp_noise(model, 2.5e-4)
    assert read_snp_noise(model) == 2.5e-4
    write_snp_noise(model, 1.5)
    with pytest.raises(InputError, match="SNP noise"):
        read_snp_noise(model)
