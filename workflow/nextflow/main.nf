// dvcall call as an nf-core style module: the sample's VCF and its gVCF (for a joint genotyper:
// bcftools merge --gvcf, or GLnexus). Scatter by region with `dvcall regions` upstream and gather
// with bcftools concat, as workflow/Snakefile does.
process DVCALL_CALL {
    tag "$meta.id"
    label 'process_medium'

    input:
    tuple val(meta), path(bam), path(bai)
    tuple val(meta2), path(fasta), path(fai)
    val region

    output:
    tuple val(meta), path("${prefix}.vcf.gz"), path("${prefix}.vcf.gz.tbi"), emit: vcf
    tuple val(meta), path("${prefix}.g.vcf.gz"), path("${prefix}.g.vcf.gz.tbi"), emit: gvcf
    path "versions.yml", emit: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    def prefix = task.ext.prefix ?: "${meta.id}"
    def region_arg = region ? "--region ${region}" : ''
    """
    dvcall call --bam ${bam} --ref ${fasta} ${region_arg} --threads ${task.cpus} --quiet ${args} -o ${prefix}.vcf.gz --gvcf ${prefix}.g.vcf.gz

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        dvcall: \$(dvcall --version | sed 's/^dvcall, version //')
    END_VERSIONS
    """

    stub:
    def prefix = task.ext.prefix ?: "${meta.id}"
    """
    touch ${prefix}.vcf.gz ${prefix}.vcf.gz.tbi ${prefix}.g.vcf.gz ${prefix}.g.vcf.gz.tbi
    echo '"${task.process}":\\n    dvcall: stub' > versions.yml
    """
}
