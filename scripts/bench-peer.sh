#!/usr/bin/env bash
# Side by side with llama.cpp: for each GGUF file, `sputnik bench` and the
# peer's bench.mjs (llama.cpp through node-llama-cpp, ../shared/tools/peer)
# one after the other, same prompt/decode lengths and threads, and one
# markdown row per file: prefill and decode tokens/s, their ratios, and
# Sputnik's decode as a fraction of the roofline (sputnik bench measures the
# read bandwidth on as many threads and the weight bytes per token).
#
#   scripts/bench-peer.sh [-p 512] [-n 128] [-r 3] [-t 2] FILE.gguf...
#
# Needs a built ./sputnik, jq, and the peer installed at $PEER (default
# /tmp/peer: cp -r ../shared/tools/peer /tmp/peer && (cd /tmp/peer && npm ci)).
# Run it on a quiet machine: both engines are memory- and compute-bound.
#
# As on a CPU without AVX-512 (Zen 2/3, Intel client cores): mask AVX-512
# from Sputnik with GODEBUG=cpu.avx512f=off (it then runs its avx2 kernels)
# and give the peer a copy whose only CPU backends are haswell and older:
#   cp -r /tmp/peer /tmp/peer-haswell
#   cd /tmp/peer-haswell/node_modules/@node-llama-cpp/linux-x64/bins/linux-x64
#   ls libggml-cpu-*.so | grep -v 'haswell\|x64\|sse42' | xargs rm
#   GODEBUG=cpu.avx512f=off PEER=/tmp/peer-haswell scripts/bench-peer.sh FILE...
set -euo pipefail
pp=512 tg=128 reps=3 threads=2
while getopts p:n:r:t: o; do
	case $o in
	p) pp=$OPTARG ;; n) tg=$OPTARG ;; r) reps=$OPTARG ;; t) threads=$OPTARG ;;
	*) exit 2 ;;
	esac
done
shift $((OPTIND - 1))
peer=${PEER:-/tmp/peer}
sputnik=${SPUTNIK:-./sputnik}
echo "| file | sputnik prefill | llama.cpp prefill | ratio | sputnik decode | llama.cpp decode | ratio | sputnik decode / roofline |"
echo "|---|---|---|---|---|---|---|---|"
for f in "$@"; do
	s=$("$sputnik" bench -m "$f" -p "$pp" -n "$tg" -r "$reps" -t "$threads" -o json 2>/dev/null)
	l=$(node "$peer/bench.mjs" --model "$f" --pp "$pp" --tg "$tg" --threads "$threads" --reps "$reps" 2>/dev/null)
	sp=$(jq '.results[] | select(.test | startswith("pp")) | .mean_tok_s' <<<"$s")
	sd=$(jq '.results[] | select(.test | startswith("tg")) | .mean_tok_s' <<<"$s")
	roof=$(jq '.results[] | select(.test | startswith("tg")) | .roofline_fraction' <<<"$s")
	bw=$(jq '.results[] | select(.test | startswith("tg")) | .read_gb_s' <<<"$s")
	lp=$(jq '.results[] | select(.test | startswith("pp")) | .tok_s.median' <<<"$l")
	ld=$(jq '.results[] | select(.test | startswith("tg")) | .tok_s.median' <<<"$l")
	variant=$(jq -r '.peer.cpu_backend_variant // "?"' <<<"$l")
	awk -v f="$(basename "$f")" -v sp="$sp" -v lp="$lp" -v sd="$sd" -v ld="$ld" -v roof="$roof" -v bw="$bw" -v v="$variant" 'BEGIN {
		printf "| %s | %.1f | %.1f | %.2f× | %.2f | %.2f | %.2f× | %.0f%% of %.1f GB/s | (llama.cpp %s)\n", f, sp, lp, sp/lp, sd, ld, sd/ld, 100*roof, bw, v }'
done
