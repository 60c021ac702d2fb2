#!/usr/bin/env bash
# memlimit.sh: run a command with its memory (anonymous + page cache) capped,
# after evicting a model file from the page cache, so that a model larger
# than the limit has to be paged in from disk while it runs.
#
#   scripts/memlimit.sh LIMIT MODEL.gguf COMMAND [ARGS...]
#   scripts/memlimit.sh 512M model.gguf ./sputnik bench -m model.gguf --tg 64 --random
#
# It uses a cgroup directly (v2: memory.max; v1: memory.limit_in_bytes) and
# needs permission to create one (root, or a delegated cgroup). On a desktop
# with systemd the same is
#   systemd-run --user --scope -p MemoryMax=512M -p MemorySwapMax=0 COMMAND...
# Prints the cgroup's peak usage afterwards.
set -euo pipefail
[ $# -ge 3 ] || { sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
limit=$1 model=$2
shift 2
bytes=$(numfmt --from=iec "$limit")

# The cgroup this shell is in, and a child of it.
if [ -f /sys/fs/cgroup/cgroup.controllers ]; then
	v=2
	parent=/sys/fs/cgroup$(awk -F: '$1=="0"{print $3}' /proc/self/cgroup)
else
	v=1
	parent=/sys/fs/cgroup/memory$(awk -F: '$2=="memory"{print $3}' /proc/self/cgroup)
fi
cg=$parent/sputnik-memlimit-$$
mkdir "$cg" || { echo "memlimit: cannot create a cgroup under $parent (need root or delegation; try systemd-run, see above)" >&2; exit 1; }
cleanup() { rmdir "$cg" 2>/dev/null || true; }
trap cleanup EXIT
if [ $v = 2 ]; then
	echo "$bytes" >"$cg/memory.max"
	echo 0 >"$cg/memory.swap.max" 2>/dev/null || true
else
	echo "$bytes" >"$cg/memory.limit_in_bytes"
	echo "$bytes" >"$cg/memory.memsw.limit_in_bytes" 2>/dev/null || true
fi

# Pages already cached were charged to another cgroup: drop them so that
# every page of the model is read, and charged, under the limit.
dd if="$model" iflag=nocache count=0 status=none
echo "memlimit: $limit ($bytes bytes) for: $*; $(du -h --apparent-size "$model" | cut -f1) model evicted from the page cache" >&2

# The command runs in the cgroup (bash -c moves itself in, then execs it).
set +e
bash -c 'echo $$ >"$1/cgroup.procs" && shift && exec "$@"' _ "$cg" "$@"
rc=$?
set -e
if [ $v = 2 ]; then
	echo "memlimit: peak $(numfmt --to=iec "$(cat "$cg/memory.peak" 2>/dev/null || echo 0)") of $limit" >&2
else
	echo "memlimit: peak $(numfmt --to=iec "$(cat "$cg/memory.max_usage_in_bytes")") of $limit" >&2
fi
exit $rc
