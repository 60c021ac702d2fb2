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
# fair; say so when quoting the numbers.
#
# Usage: scripts/train-bench.sh            (THREADS=2 ROUNDS=5 by default)
#        THREADS=4 ROUNDS=3 scripts/train-bench.sh
# Needs Go and python3 with torch (Debian: apt-get install python3-torch;
# torch then uses the system BLAS: install libopenblas0-openmp or
# libopenblas0-pthread for a fast one, else it is the reference BLAS).
set -eu
THREADS=${THREADS:-2}
ROUNDS=${ROUNDS:-5}
PYTHON=${PYTHON:-/usr/bin/python3}
cd "$(dirname "$0")/.."

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go test -c -o "$tmp/train.test" ./internal/train

: >"$tmp/go"
: >"$tmp/torch"
i=0
while [ "$i" -lt "$ROUNDS" ]; do
	i=$((i + 1))
	g=$(GOMAXPROCS=$THREADS "$tmp/train.test" -test.run '^$' -test.bench '^BenchmarkTrainStep$' \
		-test.benchtime 5x -test.cpu "$THREADS" | awk '/tokens\/s/ { for (k = 1; k < NF; k++) if ($(k+1) == "tokens/s") print $k }')
	t=$(OMP_NUM_THREADS=$THREADS OPENBLAS_NUM_THREADS=$THREADS "$PYTHON" scripts/train-bench-torch.py \
		--threads "$THREADS" --steps 5 --warmup 1)
	echo "round $i: go $g tokens/s; $t"
	echo "$g" >>"$tmp/go"
	echo "$t" | awk '{ print $3 }' >>"$tmp/torch"
done

median() { sort -n "$1" | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
mg=$(median "$tmp/go")
mt=$(median "$tmp/torch")
echo "median over $ROUNDS rounds, $THREADS threads: go $mg tokens/s, torch $mt tokens/s, ratio go/torch $(awk -v g="$mg" -v t="$mt" 'BEGIN { printf "%.2f", g / t }')x"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
