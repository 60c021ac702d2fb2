//go:build !linux && !darwin

package hub

// freeDisk returns -1: the free space is not known on this system.
func freeDisk(dir string) int64 { return -1 }
