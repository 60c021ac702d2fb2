package sysmem

import (
	"runtime"
	"slices"
	"testing"
)

func TestParseMemTotal(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
	}{
		{"MemTotal:       24683968 kB\nMemFree:        20178496 kB\n", 24683968 * 1024},
		{"MemFree: 1 kB\nMemTotal: 2 kB\n", 2048},
		{"MemFree: 1 kB\n", 0},
		{"MemTotal: x kB\n", 0},
		{"", 0},
	} {
		if got := parseMemTotal([]byte(tc.in)); got != tc.want {
			t.Errorf("parseMemTotal(%q) = %d, want %d", tc.in, got, tc.want)
		}
	}
}

func TestParseLimit(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
		ok   bool
	}{
		{"536870912\n", 536870912, true},
		{"max\n", 0, false},
		{"9223372036854771712\n", 0, false}, // v1's "no limit"
		{"0", 0, false},
		{"-1", 0, false},
		{"", 0, false},
	} {
		got, ok := parseLimit([]byte(tc.in))
		if got != tc.want || ok != tc.ok {
			t.Errorf("parseLimit(%q) = %d, %v; want %d, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestCgroupLimitFiles(t *testing.T) {
	v1 := "9:name=systemd:/\n4:memory:/process_api/abc\n3:cpuset:/\n0::/\n"
	got := cgroupLimitFiles([]byte(v1))
	want := []limitFile{
		{"/sys/fs/cgroup/memory/process_api/abc/memory.limit_in_bytes", "cgroup v1 limit"},
		{"/sys/fs/cgroup/memory/process_api/memory.limit_in_bytes", "cgroup v1 limit"},
		{"/sys/fs/cgroup/memory/memory.limit_in_bytes", "cgroup v1 limit"},
		{"/sys/fs/cgroup/memory.max", "cgroup v2 limit"},
	}
	if !slices.Equal(got, want) {
		t.Errorf("v1 hierarchy:\n got %v\nwant %v", got, want)
	}
	got = cgroupLimitFiles([]byte("0::/user.slice/app.scope\n"))
	want = []limitFile{
		{"/sys/fs/cgroup/user.slice/app.scope/memory.max", "cgroup v2 limit"},
		{"/sys/fs/cgroup/user.slice/memory.max", "cgroup v2 limit"},
		{"/sys/fs/cgroup/memory.max", "cgroup v2 limit"},
	}
	if !slices.Equal(got, want) {
		t.Errorf("v2 hierarchy:\n got %v\nwant %v", got, want)
	}
	if got := cgroupLimitFiles([]byte("garbage\n5:cpu:/x\n")); len(got) != 0 {
		t.Errorf("no memory controller: got %v", got)
	}
}

func TestLimit(t *testing.T) {
	n, src := Limit()
	if runtime.GOOS != "linux" {
		t.Skipf("Limit is only implemented for Linux (got %d, %q)", n, src)
	}
	if n <= 0 || src == "" {
		t.Fatalf("Limit() = %d, %q on Linux", n, src)
	}
	t.Logf("this process may use %.1f GiB (%s)", float64(n)/(1<<30), src)
}

// TestAllocHuge checks that AllocHuge's memory is zero, writable end to end
// and released without error.
func TestAllocHuge(t *testing.T) {
	const n = 5<<20 + 123
	b, free, err := AllocHuge(n)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) != n {
		t.Fatalf("len %d, want %d", len(b), n)
	}
	for i := 0; i < n; i += 4093 {
		if b[i] != 0 {
			t.Fatalf("byte %d = %d, want 0", i, b[i])
		}
		b[i] = byte(i)
	}
	b[n-1] = 1
	if err := free(); err != nil {
		t.Fatal(err)
	}
}
