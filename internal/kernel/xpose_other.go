//go:build !amd64 || purego

package kernel

import "github.com/sputnik-llm/sputnik/internal/tensor"

// xposeGroup reports false: without the amd64 kernels every group goes
// through the Go reference.
func xposeGroup(t tensor.DType, w []byte, ws, nb int, dst []byte) bool { return false }
