//go:build !linux

package main

func majorFaults() int64 { return 0 }

func peakRSS() int64 { return 0 }
