#!/usr/bin/env bash
# The read steps of the workflow as a plain bash pipeline: the same tools with the same
# options as rules/*.smk (config values come in as environment variables), written to be
# as fast as we can by hand on CORES cores: one thread per job and CORES jobs at once
# (xargs -P), the BWA index built while Cutadapt runs, and one FastQC JVM for all files
# in the background while duplicates are marked and variants called.
#
#   by_hand.sh REFERENCE.fa UNITS.tsv OUTDIR      (run from the directory the sheet's
#                                                 FASTQ paths are relative to)
# Env: CORES PLOIDY CHUNKS MPILEUP CALL ADAPTER_R1 ADAPTER_R2 QUALITY MIN_LENGTH
set -euo pipefail
ref_in=$1 units=$2 out=$3
export CORES=${CORES:-2} PLOIDY=${PLOIDY:-2} CHUNKS=${CHUNKS:-4}
export MPILEUP=${MPILEUP:---min-MQ 20 --min-BQ 20 --max-depth 10000}
export CALL=${CALL:---multiallelic-caller --variants-only}
export ADAPTER_R1=${ADAPTER_R1:-AGATCGGAAGAGCACACGTCTGAACTCCAGTCA}
export ADAPTER_R2=${ADAPTER_R2:-AGATCGGAAGAGCGTCGTGTAGGGAAAGAGTGT}
export QUALITY=${QUALITY:-20} MIN_LENGTH=${MIN_LENGTH:-30}
export OUT=$out REF=$out/ref/genome.fa
mkdir -p "$out"/{ref,trim,fastqc,units,map,bamstats,calls,logs}

# Reference: copy (decompress), faidx; bwa index in the background.
if gzip -t "$ref_in" 2>/dev/null; then gzip -dc "$ref_in"; else cat "$ref_in"; fi >"$REF"
samtools faidx "$REF"
(bwa index "$REF" 2>"$out/logs/bwa_index.log" && touch "$out/ref/.indexed") &
index_pid=$!

# Units: sample, unit, fq1, fq2 (empty = single-end); header and # comments skipped.
grep -v '^#' "$units" | tail -n +2 | awk -F'\t' 'NF >= 3' >"$out/units.txt"

trim_unit() {
    IFS=$'\t' read -r s u fq1 fq2 <<<"$1"
    local stem=$OUT/trim/$s.$u
    if [ -n "${fq2:-}" ]; then
        cutadapt --cores 1 -a "$ADAPTER_R1" -A "$ADAPTER_R2" -q "$QUALITY,$QUALITY" \
            --minimum-length "$MIN_LENGTH" --json "$stem.pe.json" \
            -o "$stem.R1.fastq.gz" -p "$stem.R2.fastq.gz" "$fq1" "$fq2" >"$OUT/logs/trim.$s.$u.log" 2>&1
    else
        cutadapt --cores 1 -a "$ADAPTER_R1" -q "$QUALITY" --minimum-length "$MIN_LENGTH" \
            --json "$stem.se.json" -o "$stem.SE.fastq.gz" "$fq1" >"$OUT/logs/trim.$s.$u.log" 2>&1
    fi
}

map_unit() {
    IFS=$'\t' read -r s u fq1 fq2 <<<"$1"
    local stem=$OUT/trim/$s.$u rg="$s.$u" reads
    if [ -n "${fq2:-}" ]; then reads=("$stem.R1.fastq.gz" "$stem.R2.fastq.gz"); else reads=("$stem.SE.fastq.gz"); fi
    mkdir -p "$OUT/units/$s"
    bwa mem -t 1 -K 10000000 -R "@RG\tID:$rg\tSM:$s\tLB:$s\tPL:ILLUMINA\tPU:$rg" "$REF" "${reads[@]}" 2>"$OUT/logs/bwa.$s.$u.log" |
        samtools fixmate -m -u - - |
        samtools sort -@ 1 -m 500M -T "$OUT/units/$s/$u.tmp" -o "$OUT/units/$s/$u.bam" - 2>>"$OUT/logs/bwa.$s.$u.log"
}

sample_job() {
    local s=$1
    samtools merge -@ 1 -u -o - "$OUT/units/$s/"*.bam |
        samtools markdup -@ 1 -T "$OUT/map/$s.tmp" -f "$OUT/map/$s.markdup.txt" - "$OUT/map/$s.bam" 2>"$OUT/logs/markdup.$s.log"
    samtools index "$OUT/map/$s.bam"
    samtools stats --reference "$REF" "$OUT/map/$s.bam" >"$OUT/bamstats/$s.stats.txt"
    samtools flagstat "$OUT/map/$s.bam" >"$OUT/bamstats/$s.flagstat.txt"
    samtools idxstats "$OUT/map/$s.bam" >"$OUT/bamstats/$s.idxstats.txt"
}

call_chunk() {
    local i=$1
    bcftools mpileup -f "$REF" -R "$OUT/calls/chunk.$i.bed" -a FORMAT/AD,FORMAT/DP $MPILEUP -Ou \
        -b "$OUT/calls/bams.txt" 2>"$OUT/logs/call.$i.log" |
        bcftools call --ploidy "$PLOIDY" -a FORMAT/GQ $CALL -Ob -o "$OUT/calls/chunk.$i.bcf" 2>>"$OUT/logs/call.$i.log"
    bcftools index "$OUT/calls/chunk.$i.bcf"
}
export -f trim_unit map_unit sample_job call_chunk

# 1. Cutadapt, CORES units at a time (the index builds meanwhile).
xargs -d '\n' -P "$CORES" -I{} bash -c 'trim_unit "$1"' _ {} <"$out/units.txt"

# 2. One FastQC JVM (C1 compiler only, as in the rule) for the raw and trimmed reads of
#    every unit, in the background from here on.
awk -F'\t' '{print $3; if ($4 != "") print $4}' "$out/units.txt" >"$out/fastqc/files.txt"
ls "$out"/trim/*.fastq.gz >>"$out/fastqc/files.txt"
(_JAVA_OPTIONS="-XX:TieredStopAtLevel=1" xargs -d '\n' fastqc --quiet --threads "$CORES" \
    --outdir "$out/fastqc" <"$out/fastqc/files.txt" >"$out/logs/fastqc.log" 2>&1) &
fastqc_pid=$!

# 3. BWA-MEM | fixmate | sort per unit, then merge | markdup, index, stats per sample.
wait "$index_pid"
xargs -d '\n' -P "$CORES" -I{} bash -c 'map_unit "$1"' _ {} <"$out/units.txt"
cut -f1 "$out/units.txt" | sort -u >"$out/samples.txt"
xargs -P "$CORES" -I{} bash -c 'sample_job "$1"' _ {} <"$out/samples.txt"

# 4. Joint calling over CHUNKS near-equal pieces of the reference (as scripts/calls.py),
#    then concat | norm | sort, index, stats.
sed "s|^|$out/map/|; s|$|.bam|" "$out/samples.txt" >"$out/calls/bams.txt"
awk -F'\t' -v n="$CHUNKS" -v dir="$out/calls" '
    { name[NR] = $1; len[NR] = $2; total += $2 }
    END {
        for (i = 0; i <= n; i++) b[i] = int(total * i / n + 0.5)
        for (i = 0; i < n; i++) printf "" > (dir "/chunk." i ".bed")
        off = 0
        for (c = 1; c <= NR; c++) {
            for (i = 0; i < n; i++) {
                s = (b[i] > off ? b[i] : off) - off
                e = (b[i + 1] < off + len[c] ? b[i + 1] : off + len[c]) - off
                if (s < e) print name[c] "\t" s "\t" e >> (dir "/chunk." i ".bed")
            }
            off += len[c]
        }
    }' "$REF.fai"
seq 0 $((CHUNKS - 1)) | xargs -P "$CORES" -I{} bash -c 'call_chunk "$1"' _ {}
seq 0 $((CHUNKS - 1)) | sed "s|.*|$out/calls/chunk.&.bcf|" >"$out/calls/chunks.txt"
bcftools concat -Ou -f "$out/calls/chunks.txt" 2>"$out/logs/gather.log" |
    bcftools norm -f "$REF" -m -any -Ou 2>>"$out/logs/gather.log" |
    bcftools sort -Oz -o "$out/cohort.vcf.gz" -T "$out/cohort.tmp" 2>>"$out/logs/gather.log"
bcftools index -t "$out/cohort.vcf.gz"
bcftools stats -F "$REF" -s - "$out/cohort.vcf.gz" >"$out/cohort.stats.txt"

wait "$fastqc_pid"
