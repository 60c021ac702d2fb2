// Package testutil holds helpers shared by tests: locating the third-party
// reference data in ../shared/testdata, and float comparisons. Only test
// files import it.
package testutil

import (
	"os"
	"path/filepath"
	"testing"
)

// RepoRoot returns the directory holding the module's go.mod, found by
// walking up from the current directory (a package directory during go test).
func RepoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatalf("testutil: %v", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatalf("testutil: no go.mod above the working directory")
		}
		dir = parent
	}
}

// SharedTestdata returns the path of the shared third-party reference data,
// ../shared/testdata beside the repository (or $SPUTNIK_TESTDATA if set).
// The test is skipped, with a message saying so, when the directory is absent.
func SharedTestdata(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("SPUTNIK_TESTDATA")
	if dir == "" {
		dir = filepath.Join(RepoRoot(t), "..", "shared", "testdata")
	}
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		t.Skipf("reference data not found at %s (set SPUTNIK_TESTDATA or check out ../shared): skipping", dir)
	}
	return dir
}

// SharedFile returns the path of a file under the shared testdata directory,
// skipping the test with a clear message when it is absent.
func SharedFile(t testing.TB, rel string) string {
	t.Helper()
	p := filepath.Join(SharedTestdata(t), rel)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("reference file %s not found: skipping", p)
	}
	return p
}
