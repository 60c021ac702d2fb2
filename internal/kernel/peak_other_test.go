//go:build !amd64 || purego

package kernel

// vnniPeakGMACs returns 0: there are no VNNI kernels here.
func vnniPeakGMACs(threads int) float64 { return 0 }

// readBandwidthGBs returns 0: the read kernel is AVX-512 assembly.
func readBandwidthGBs(threads int) float64 { return 0 }
