//go:build linux

package main

import "syscall"

// majorFaults returns the process's page faults that needed I/O so far.
func majorFaults() int64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return int64(ru.Majflt)
}

// peakRSS returns the process's largest resident set so far, in bytes
// (0 if unknown).
func peakRSS() int64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return int64(ru.Maxrss) * 1024 // kilobytes
}
