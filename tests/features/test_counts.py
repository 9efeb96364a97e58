"""Raw counts at many sites in one pass agree with the one-site count, on testdata's reads."""

import numpy as np
import pysam

from dvcall.features.counts import counts_at, counts_at_sites
from dvcall.features.projection import project_records
from dvcall.io.alignments import AlignmentSource, ReadFilter


def test_counts_at_sites_agree_with_counts_at_one_site(testdata):
    source = AlignmentSource(pysam.AlignmentFile(str(testdata / "reads.bam")))
    reads = project_records(source.records("chr1", 30000, 33000, ReadFilter()), ReadFilter())
    positions = np.array([0, 5, 848, 849, 1500, 2999, 3400])  # 3400: past every read
    counts = counts_at_sites(reads, 30000, positions)
    assert counts.shape == (len(positions), 6) and counts[:-1].sum(axis=1).min() > 0
    for site, position in enumerate(positions.tolist()):
        assert np.array_equal(counts[site], counts_at(reads, 30000, position))
