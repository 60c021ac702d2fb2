package models

import "testing"

// TestParseSize checks the sizes InterleaveEnv accepts and refuses.
func TestParseSize(t *testing.T) {
	for s, want := range map[string]int64{"0": 0, "4096": 4096, "512M": 512 << 20, "6G": 6 << 30, "1.5GiB": 3 << 29, "2gb": 2 << 30, " 1T ": 1 << 40, "64k": 64 << 10} {
		if got, err := parseSize(s); err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", s, got, err, want)
		}
	}
	for _, s := range []string{"", "G", "-1G", "lots", "1e30", "NaN", "6X"} {
		if got, err := parseSize(s); err == nil {
			t.Errorf("parseSize(%q) = %d, want an error", s, got)
		}
	}
}
