//go:build purego

package engine_test

// purego is true when the pure-Go reference kernels are forced.
const purego = true
