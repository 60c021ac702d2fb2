//go:build !amd64 || purego

package kernel

// vnniPeakGMACs returns 0: there are no VNNI kernels here.
func vnniPeakGMACs(threads int) float64 { return 0 }
