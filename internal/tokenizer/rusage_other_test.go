//go:build !unix

package tokenizer

// cpuSeconds is unavailable here; the cpuMB/s metric is then not reported.
func cpuSeconds() float64 { return 0 }
