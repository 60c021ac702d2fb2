//go:build race

package testutil

// RaceEnabled reports whether the race detector is on. Allocation counts
// are not meaningful then (sync.Pool drops items at random).
const RaceEnabled = true
