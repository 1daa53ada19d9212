#!/usr/bin/env bash
# After a failed cutadapt run: append to its log which input file is broken, where, and
# what to do. Cutadapt's own errors name a line ("Error in FASTQ file at line 10000") or
# "file 1"/"file 2", not the file. Usage: trim_error.sh LOG SHEET_ROW FQ1 [FQ2]
# (rules/trim.smk calls it when cutadapt exits non-zero; it always exits 1).
log=$1 row=$2
shift 2
{
    echo "--------------------------------------------------------------------------------"
    echo "cutadapt failed on the reads of $row; checking the input files:"
    line=$(sed -n 's/.*Error in FASTQ file at line \([0-9][0-9]*\).*/\1/p' "$log" | head -n 1)
    found=0
    n=0
    for fq in "$@"; do
        n=$((n + 1))
        if [[ $(head -c 2 "$fq" | od -An -tx1 | tr -d ' \n') == 1f8b ]] && ! gzip -t "$fq" 2>/dev/null; then
            echo "$fq: truncated or corrupt gzip ($(gzip -t "$fq" 2>&1 | tail -n 1))."
            echo "Fix: the file is incomplete (interrupted download or copy): copy or download it again."
            found=1
        elif [[ -n $line ]]; then
            start=$(((line - 1) / 4 * 4 + 1))
            problem=$(gzip -cdf "$fq" | sed -n "${start},$((start + 3))p;$((start + 3))q" | awk -v start="$start" '
                NR == 1 { if (substr($0, 1, 1) != "@") { print "header does not start with @"; exit } }
                NR == 2 { seq = length($0) }
                NR == 3 { if (substr($0, 1, 1) != "+") { print "line " start + 2 " is not the + line"; exit } }
                NR == 4 {
                    if (length($0) != seq) { print "sequence has " seq " characters, quality " length($0); exit }
                    if ($0 ~ /[^!-~]/) { print "quality has characters outside !..~"; exit }
                }
                END { if (NR > 0 && NR < 4) print "the file ends within the read (truncated?)" }')
            if [[ -n $problem ]]; then
                echo "$fq: read $(((start + 3) / 4)) (lines $start-$((start + 3))): $problem."
                echo "Fix: repair or re-export the file (each read is 4 lines: @name, sequence, +, quality of the same length)."
                found=1
            fi
        fi
    done
    if grep -q "more reads in file 1 than in file 2" "$log"; then
        echo "$1 has more reads than its mate file $2: the pair is incomplete."
        echo "Fix: give complete read-1 and read-2 files of the same run (e.g. re-download the shorter one)."
        found=1
    elif grep -q "more reads in file 2 than in file 1" "$log"; then
        echo "$2 has more reads than its mate file $1: the pair is incomplete."
        echo "Fix: give complete read-1 and read-2 files of the same run (e.g. re-download the shorter one)."
        found=1
    elif grep -q "not properly paired\|Read names .* do not match\|improperly paired" "$log"; then
        echo "$1 and $2 are not mates (read names differ or reads are out of order)."
        echo "Fix: give the read-1 and read-2 files of the same run, in the same read order."
        found=1
    fi
    if [[ $found == 0 ]]; then
        echo "no file problem found; see cutadapt's error above (options: config cutadapt.*)."
    fi
} >>"$log"
exit 1
