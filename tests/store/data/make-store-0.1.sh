#!/usr/bin/env bash
# Writes tests/store/data/store-0.1 with the kvs command line of kvs 0.1
# (commit 211a1df, whose data files' block headers do not count superseded
# bytes): usage: make-store-0.1.sh PATH/TO/OLD/kvs
set -euo pipefail
kvs=$1
out=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)/store-0.1
rm -rf "$out"
for i in $(seq 0 29); do "$kvs" -d "$out" put counter "$i" > /dev/null; done
"$kvs" -d "$out" branch create draft > /dev/null
"$kvs" -d "$out" put note "draft note" --branch draft > /dev/null
"$kvs" -d "$out" compact > /dev/null
for i in $(seq 30 59); do "$kvs" -d "$out" put counter "$i" > /dev/null; done
# Only the identity and the data file: the rest is made on open.
rm -f "$out/LOCK" "$out/COMPACT" "$out/reads"
ls -l "$out"
