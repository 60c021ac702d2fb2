#!/usr/bin/env bash
# fuzz.sh: run every fuzz target of the module, one after another.
#
#   scripts/fuzz.sh              each target for its execution count in the table below
#                                (what `make fuzz` and CI run: a few seconds per target)
#   scripts/fuzz.sh 10m          each target for a duration (long campaigns)
#   scripts/fuzz.sh 2000000x     each target for the same execution count
#   FUZZ=Quantize scripts/fuzz.sh 10m   only the targets whose name matches a regexp
#
# Why counts: under Go 1.26 a duration (-fuzztime 5s) can fail a target that
# found nothing, with "context deadline exceeded" and no reproducer, when the
# machine is busy: the coordinator's shutdown races with a worker's last
# exchange (go.dev/issue/75804, fixed in Go 1.27). A count has no deadline,
# so the race cannot trip. With a duration, such a failure without a new file
# in testdata/fuzz is that race, not a finding. A real finding (a panic, a
# failed property) fails either way and writes its reproducer to
# <package>/testdata/fuzz/<target>/.
set -euo pipefail
cd "$(dirname "$0")/.."
budget=${1:-}
GO=${GO:-go}

# Executions per target: 1-3 s of fuzzing each on the 2-core CI machine with
# a CPU-heavy job beside it, 3-8 s when other jobs load it further (load
# average 12); building the instrumented test binary comes on top.
# A target missing here runs with the default and says so: add its row.
default=10000
counts='
internal/chat              FuzzTemplate             12000
internal/chat              FuzzThinkSplitter        50000
internal/gguf              FuzzOpen                 40000
internal/kernel            FuzzAttnKernels          40000
internal/kernel            FuzzAttnMulti            20000
internal/kernel            FuzzIQDot                50000
internal/kernel            FuzzIQTiles              30000
internal/kernel            FuzzMatMulPacked          6000
internal/kernel            FuzzMatMulQ8_0           20000
internal/kernel            FuzzPackedIQ              3000
internal/kernel            FuzzXpose                20000
internal/model/deepseek2   FuzzLoadMetadata           300
internal/sample            FuzzSample               60000
internal/sample            FuzzStopMatcher          80000
internal/tensor            FuzzDequantize          100000
internal/tensor            FuzzQuantize             15000
internal/tokenizer         FuzzFromGGUF             50000
internal/tokenizer         FuzzRoundTrip            10000
internal/tokenizer         FuzzScannersMatchRegex    6000
internal/tokenizer/hf      FuzzFromHF               25000
internal/train/vocab       FuzzFitRoundTrip          3000
'

# Each package's instrumented test binary is built once (go test -c -fuzz)
# and run for each of its targets from the package directory, as go test
# would run it: linking it once per target took half of the fuzz step.
#
# With the table's counts (CI) the run is made repeatable:
#   - a run that wedges fails after $hang seconds (fuzzing has no -timeout;
#     an input on which the function never returns is reported by Go itself
#     after about 10 s, as "fuzzing process hung", with its reproducer);
#   - inputs that reach new coverage are not minimized: minimizing one can
#     take minutes when the function is slow on it (FuzzScannersMatchRegex's
#     regexp2 oracle on long runs of spaces). A failing input is still
#     written, unminimized; `make fuzz FUZZ=Name FUZZTIME=1m` minimizes it;
#   - each target starts from its seeds and testdata/fuzz alone, with an
#     empty corpus cache of its own (-test.fuzzcachedir), not the shared
#     $GOCACHE/fuzz: that cache only grows, and with it the time to replay
#     it before fuzzing starts.
# Campaigns (a FUZZTIME given) minimize, and use and grow $GOCACHE/fuzz as
# go test -fuzz does.
hang=300
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
timeout_cmd=()
if [ -z "$budget" ] && command -v timeout >/dev/null; then
	timeout_cmd=(timeout --signal=INT --kill-after=30 "$hang")
fi

# The fuzz targets ("package-dir target" lines) in each package's test files
# for this build (go list applies build tags), without building test binaries.
module=$($GO list -m)
targets=$($GO list -f '{{.ImportPath}} {{.Dir}} {{join .TestGoFiles " "}} {{join .XTestGoFiles " "}}' ./... |
	while read -r pkg dir files; do
		for f in $files; do
			sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*/\1/p' "$dir/$f"
		done | sort -u | sed "s|^|${pkg#"$module"/} |"
	done)
if [ -n "${FUZZ:-}" ]; then
	targets=$(awk -v re="$FUZZ" '$2 ~ re' <<<"$targets")
fi
if [ -z "$targets" ]; then
	echo "fuzz.sh: no fuzz target matches FUZZ=${FUZZ:-}" >&2
	exit 1
fi

built=""
while read -r rel target; do
	bin=$tmp/bin/${rel//\//_}.test
	if [ "$rel" != "$built" ]; then
		echo "build $rel"
		$GO test -c -fuzz=. -o "$bin" "./$rel"
		built=$rel
	fi
	if [ -n "$budget" ]; then
		flags=(-test.fuzztime="$budget" -test.fuzzcachedir="$($GO env GOCACHE)/fuzz/$module/$rel")
	else
		n=$(awk -v p="$rel" -v t="$target" '$1 == p && $2 == t { print $3 }' <<<"$counts")
		if [ -z "$n" ]; then
			echo "fuzz.sh: $rel $target has no row in the counts table of scripts/fuzz.sh; using $default executions" >&2
			n=$default
		fi
		flags=(-test.fuzztime="${n}x" -test.fuzzminimizetime=0 -test.fuzzcachedir="$tmp/cache/$rel")
	fi
	echo "fuzz $rel $target ${flags[0]}"
	start=$(date +%s.%N)
	status=0
	(cd "$rel" && "${timeout_cmd[@]}" "$bin" -test.paniconexit0 -test.run='^$' -test.fuzz="^$target\$" "${flags[@]}") </dev/null || status=$?
	end=$(date +%s.%N)
	if [ "$status" = 124 ]; then
		echo "fuzz.sh: $rel $target did not finish within ${hang}s" >&2
	fi
	if [ "$status" != 0 ]; then
		echo "FAIL fuzz $rel $target (exit $status); a reproducer, if one was found, is in $rel/testdata/fuzz/$target/" >&2
		exit 1
	fi
	awk -v s="$start" -v e="$end" -v r="$rel" -v t="$target" -v b="${flags[0]#-test.fuzztime=}" 'BEGIN { printf "fuzz-time %s %s %s %.1fs\n", r, t, b, e - s }'
done <<<"$targets"
