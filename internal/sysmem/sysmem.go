// Package sysmem reports how much memory this process may use: the
// machine's RAM, lowered by a cgroup memory limit (v1 or v2) when the
// process runs under one. The loaders use it to tell when a model file does
// not fit, so that its weights will be paged in from disk while it runs.
package sysmem

import (
	"bufio"
	"bytes"
	"os"
	"path"
	"strconv"
	"strings"
)

// Limit returns the bytes of memory this process may use and where that
// figure comes from ("RAM", "cgroup v1 limit", "cgroup v2 limit"). It
// returns 0, "" when it cannot tell (non-Linux systems).
func Limit() (int64, string) {
	meminfo, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0, ""
	}
	total := parseMemTotal(meminfo)
	if total <= 0 {
		return 0, ""
	}
	limit, source := total, "RAM"
	cg, _ := os.ReadFile("/proc/self/cgroup")
	for _, c := range cgroupLimitFiles(cg) {
		b, err := os.ReadFile(c.path)
		if err != nil {
			continue
		}
		if v, ok := parseLimit(b); ok && v < limit {
			limit, source = v, c.source
		}
	}
	return limit, source
}

// parseMemTotal returns MemTotal of a /proc/meminfo text in bytes (0 if
// absent).
func parseMemTotal(meminfo []byte) int64 {
	sc := bufio.NewScanner(bytes.NewReader(meminfo))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) >= 2 && f[0] == "MemTotal:" {
			kb, err := strconv.ParseInt(f[1], 10, 64)
			if err != nil || kb < 0 {
				return 0
			}
			return kb * 1024
		}
	}
	return 0
}

type limitFile struct{ path, source string }

// cgroupLimitFiles returns the memory-limit files of the cgroups that
// /proc/self/cgroup names, the process's own and its ancestors' (a parent's
// limit binds the children too).
func cgroupLimitFiles(procCgroup []byte) []limitFile {
	var files []limitFile
	for _, line := range strings.Split(string(procCgroup), "\n") {
		f := strings.SplitN(line, ":", 3)
		if len(f) != 3 {
			continue
		}
		var root, file, source string
		switch {
		case f[0] == "0" && f[1] == "":
			root, file, source = "/sys/fs/cgroup", "memory.max", "cgroup v2 limit"
		case strings.Contains(","+f[1]+",", ",memory,"):
			root, file, source = "/sys/fs/cgroup/memory", "memory.limit_in_bytes", "cgroup v1 limit"
		default:
			continue
		}
		for dir := path.Clean("/" + f[2]); ; dir = path.Dir(dir) {
			files = append(files, limitFile{path.Join(root, dir, file), source})
			if dir == "/" {
				break
			}
		}
	}
	return files
}

// parseLimit reads a cgroup limit file: a byte count, or "max" (v2) or a
// huge value (v1) for none.
func parseLimit(b []byte) (int64, bool) {
	s := strings.TrimSpace(string(b))
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v <= 0 || v >= 1<<62 {
		return 0, false
	}
	return v, true
}
