//go:build !race

package deepseek2

// raceEnabled reports whether the race detector is on (it makes
// allocation counts meaningless).
const raceEnabled = false
