//go:build linux || darwin

package hub

import "syscall"

// freeDisk returns the bytes available to this user on dir's file system,
// or -1 if it cannot tell.
func freeDisk(dir string) int64 {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return -1
	}
	return int64(st.Bavail) * int64(st.Bsize)
}
