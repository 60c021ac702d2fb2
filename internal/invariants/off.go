//go:build !invariants

package invariants

// Enabled reports whether the expensive checks are compiled in (built with
// -tags invariants).
const Enabled = false
