#!/bin/sh
# `flotilla sim --sweep` gives the same bytes alone, under `mpirun -np 1` and
# under `mpirun -np 3` (cells spread over ranks, gathered on rank 0): JSON on
# stdout and the HDF5 cells table. Usage: sweep_mpi_test.sh FLOTILLA MPIRUN SOURCE_DIR
set -eu
flotilla=$1 mpirun=$2 src=$3
# Open MPI refuses root without these (containers and CI run as root).
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

cat >"$tmp/sweep.toml" <<TOML
fleets = ["$src/examples/fleets/8xH100.toml", "$src/examples/fleets/800xRTX4090-dc.toml"]
trace = "synthetic:300"
policies = ["fcfs", "easy"]
load_factors = [1.0, 3.0]
seeds = [7]
out = "cells.h5"
TOML

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

run() {  # NAME COMMAND...: stdout to NAME.json, the HDF5 dump to NAME.h5dump
  name=$1
  shift
  start=$(date +%s.%N)
  "$@" sim --sweep "$tmp/sweep.toml" --json >"$tmp/$name.json" || fail "$name exited $?"
  echo "$name: $(echo "$(date +%s.%N) - $start" | bc) s"
  h5dump "$tmp/cells.h5" >"$tmp/$name.h5dump" || fail "$name: no readable cells.h5"
  rm "$tmp/cells.h5"
}

run plain "$flotilla"
run np1 "$mpirun" --allow-run-as-root -np 1 "$flotilla"
run np3 "$mpirun" --allow-run-as-root --oversubscribe -np 3 "$flotilla"

# Real values first: 2 fleets x 2 policies x 2 loads = 8 cells of 300 jobs,
# in cell order, and the cells do not all agree (policies and loads matter).
[ "$(grep -c '"jobs": 300,' "$tmp/plain.json")" = 8 ] || fail "expected 8 cells of 300 jobs"
[ "$(grep '"policy":' "$tmp/plain.json" | tr -d ' \n')" = \
  '"policy":"fcfs","policy":"fcfs","policy":"easy","policy":"easy","policy":"fcfs","policy":"fcfs","policy":"easy","policy":"easy",' ] ||
  fail "cells out of order"
[ "$(grep '"makespan_s":' "$tmp/plain.json" | sort -u | wc -l)" -ge 4 ] ||
  fail "makespans barely differ across cells"
grep -q '"fleet": "8xH100"' "$tmp/plain.json" || fail "fleet names missing"
grep -q 'DATASET "makespan_s"' "$tmp/plain.h5dump" || fail "no makespan_s column in cells.h5"
grep -q '"800xRTX4090-dc"' "$tmp/plain.h5dump" || fail "no fleet names in cells.h5"

for n in np1 np3; do
  cmp "$tmp/plain.json" "$tmp/$n.json" || {
    diff "$tmp/plain.json" "$tmp/$n.json" | head -20 >&2
    fail "$n JSON differs from the run without mpirun"
  }
  cmp "$tmp/plain.h5dump" "$tmp/$n.h5dump" || fail "$n cells.h5 differs from the run without mpirun"
done
echo "PASS: identical JSON and HDF5 for plain, -np 1, -np 3"
