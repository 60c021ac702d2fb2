#!/bin/sh
# train-bench.sh: training speed of internal/train beside PyTorch on the CPU.
#
# Runs BenchmarkTrainStep (go test ./internal/train) and
# scripts/train-bench-torch.py — the same model (the r1-tiny shape: vocab
# 512, dim 192, 4 layers, 6 heads, FFN 512), the same batch (16 sequences
# of 256 tokens) and the same full step (forward, backward, clipping,
# AdamW) — with the same thread count, alternately, ROUNDS times each, and
# prints the median tokens/s of each and their ratio. On a machine shared
# with other work, alternating and taking medians keeps the comparison
# fair; say so when quoting the numbers. It also prints the median CPU time
# per step of each (all threads), which other work on the machine inflates
# less than the wall time (but which counts OpenMP's spin-waiting in
# torch).
#
# Usage: scripts/train-bench.sh            (THREADS=2 ROUNDS=5 by default)
#        THREADS=4 ROUNDS=3 OMP_WAIT=ACTIVE scripts/train-bench.sh
# Needs Go and python3 with torch (Debian: apt-get install python3-torch;
# torch then uses the system BLAS: install libopenblas0-openmp or
# libopenblas0-pthread for a fast one, else it is the reference BLAS).
set -eu
THREADS=${THREADS:-2}
ROUNDS=${ROUNDS:-5}
PYTHON=${PYTHON:-/usr/bin/python3}
# OpenMP threads that spin while they wait lose their time slices to other
# processes on a busy machine and make torch several times slower there;
# passive waiting is torch's best case on a shared machine (OMP_WAIT=ACTIVE
# for the default behaviour).
OMP_WAIT=${OMP_WAIT:-PASSIVE}
cd "$(dirname "$0")/.."

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go test -c -o "$tmp/train.test" ./internal/train

: >"$tmp/go"
: >"$tmp/torch"
: >"$tmp/gocpu"
: >"$tmp/torchcpu"
i=0
while [ "$i" -lt "$ROUNDS" ]; do
	i=$((i + 1))
	gl=$(GOMAXPROCS=$THREADS "$tmp/train.test" -test.run '^$' -test.bench '^BenchmarkTrainStep$' \
		-test.benchtime 5x -test.cpu "$THREADS" | grep '^BenchmarkTrainStep')
	g=$(echo "$gl" | awk '{ for (k = 1; k < NF; k++) if ($(k+1) == "tokens/s") print $k }')
	gc=$(echo "$gl" | awk '{ for (k = 1; k < NF; k++) if ($(k+1) == "cpu-ms/step") print $k }')
	t=$(OMP_WAIT_POLICY=$OMP_WAIT OMP_NUM_THREADS=$THREADS OPENBLAS_NUM_THREADS=$THREADS "$PYTHON" scripts/train-bench-torch.py \
		--threads "$THREADS" --steps 5 --warmup 1)
	echo "round $i: go $g tokens/s cpu-ms/step: $gc; $t"
	echo "$g" >>"$tmp/go"
	echo "$gc" >>"$tmp/gocpu"
	echo "$t" | awk '{ print $3 }' >>"$tmp/torch"
	echo "$t" | awk '{ print $5 }' >>"$tmp/torchcpu"
done

median() { sort -n "$1" | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
mg=$(median "$tmp/go")
mt=$(median "$tmp/torch")
echo "median over $ROUNDS rounds, $THREADS threads: go $mg tokens/s, torch $mt tokens/s, ratio go/torch $(awk -v g="$mg" -v t="$mt" 'BEGIN { printf "%.2f", g / t }')x"
mgc=$(median "$tmp/gocpu")
mtc=$(median "$tmp/torchcpu")
echo "CPU time per step: go $mgc ms, torch $mtc ms, ratio torch/go $(awk -v g="$mgc" -v t="$mtc" 'BEGIN { printf "%.2f", t / g }')x"
echo "torch ran with OMP_WAIT_POLICY=$OMP_WAIT; load average: $(cut -d' ' -f1-3 /proc/loadavg)"
