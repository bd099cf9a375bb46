#!/usr/bin/env bash
# Writes tests/store/data/NAME with the kvs command line of an earlier kvs:
# store-0.3 with kvs 0.3 (commit d1d740e: store format 2, whose logged
# blocks log the global tree's edits but write each branch tree's changed
# nodes), store-0.4 with kvs 0.4 (commit 5b64b77: store format 3, whose
# checkpoints keep the id entries in the global tree, where format 4 moves
# them into runs), store-0.5 with kvs 0.5 (commit 233f840: store format 4,
# whose edit records have fixed-width lengths, where format 5 writes them
# compact), store-0.6 with kvs 0.6 (commit 4b11bf3: store format 5, whose
# version and commit records have fixed-width fields, where format 6 writes
# them compact).
# usage: make-store.sh PATH/TO/OLD/kvs NAME
set -euo pipefail
kvs=$1
out=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)/$2
rm -rf "$out"
for i in $(seq 0 19); do "$kvs" -d "$out" put counter "$i" > /dev/null; done
"$kvs" -d "$out" compact > /dev/null
for i in $(seq 20 29); do "$kvs" -d "$out" put counter "$i" > /dev/null; done
"$kvs" -d "$out" branch create draft > /dev/null
"$kvs" -d "$out" put note "draft note" --branch draft > /dev/null
for i in $(seq 30 39); do "$kvs" -d "$out" put counter "$i" > /dev/null; done
# Only the identity and the data file: the rest is made on open. The data
# file's zeros written ahead of its end are cut (any kvs reads it either way).
rm -f "$out/LOCK" "$out/COMPACT" "$out/reads"
python3 -c 'import sys; p = sys.argv[1]; b = open(p, "rb").read()
open(p, "r+b").truncate((len(b.rstrip(b"\0")) + 7) // 8 * 8)' "$out"/data.*
ls -l "$out"
