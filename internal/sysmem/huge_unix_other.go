//go:build unix && !linux

package sysmem

func adviseHuge(b []byte) error { return nil }
