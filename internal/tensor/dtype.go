package tensor

import "fmt"

// DType is a GGML tensor type id, as stored in a GGUF tensor info.
type DType uint32

// The GGML type ids. Gaps are ids that ggml has retired; they are unknown.
const (
	F32     DType = 0
	F16     DType = 1
	Q4_0    DType = 2
	Q4_1    DType = 3
	Q5_0    DType = 6
	Q5_1    DType = 7
	Q8_0    DType = 8
	Q8_1    DType = 9
	Q2_K    DType = 10
	Q3_K    DType = 11
	Q4_K    DType = 12
	Q5_K    DType = 13
	Q6_K    DType = 14
	Q8_K    DType = 15
	IQ2_XXS DType = 16
	IQ2_XS  DType = 17
	IQ3_XXS DType = 18
	IQ1_S   DType = 19
	IQ4_NL  DType = 20
	IQ3_S   DType = 21
	IQ2_S   DType = 22
	IQ4_XS  DType = 23
	I8      DType = 24
	I16     DType = 25
	I32     DType = 26
	I64     DType = 27
	F64     DType = 28
	IQ1_M   DType = 29
	BF16    DType = 30
	TQ1_0   DType = 34
	TQ2_0   DType = 35
	MXFP4   DType = 39
)

// QK_K is the super-block size of the K-quants and most IQ types.
const QK_K = 256

// layout is the block geometry of one type.
type layout struct {
	name      string
	blockSize int // elements per block
	typeSize  int // bytes per block
}

// layouts is indexed by DType. Sizes follow ggml's block structs
// (ggml-common.h): e.g. Q4_K = f16 d, f16 dmin, 12 bytes of 6-bit scales,
// 128 bytes of nibbles = 144 bytes per 256 values.
var layouts = map[DType]layout{
	F32:     {"F32", 1, 4},
	F16:     {"F16", 1, 2},
	Q4_0:    {"Q4_0", 32, 2 + 16},
	Q4_1:    {"Q4_1", 32, 2 + 2 + 16},
	Q5_0:    {"Q5_0", 32, 2 + 4 + 16},
	Q5_1:    {"Q5_1", 32, 2 + 2 + 4 + 16},
	Q8_0:    {"Q8_0", 32, 2 + 32},
	Q8_1:    {"Q8_1", 32, 2 + 2 + 32},
	Q2_K:    {"Q2_K", QK_K, QK_K/16 + QK_K/4 + 2 + 2},
	Q3_K:    {"Q3_K", QK_K, QK_K/8 + QK_K/4 + 12 + 2},
	Q4_K:    {"Q4_K", QK_K, 2 + 2 + 12 + QK_K/2},
	Q5_K:    {"Q5_K", QK_K, 2 + 2 + 12 + QK_K/8 + QK_K/2},
	Q6_K:    {"Q6_K", QK_K, QK_K/2 + QK_K/4 + QK_K/16 + 2},
	Q8_K:    {"Q8_K", QK_K, 4 + QK_K + QK_K/16*2},
	IQ2_XXS: {"IQ2_XXS", QK_K, 2 + QK_K/8*2},
	IQ2_XS:  {"IQ2_XS", QK_K, 2 + QK_K/8*2 + QK_K/32},
	IQ3_XXS: {"IQ3_XXS", QK_K, 2 + 3*QK_K/8},
	IQ1_S:   {"IQ1_S", QK_K, 2 + QK_K/8 + QK_K/16},
	IQ4_NL:  {"IQ4_NL", 32, 2 + 16},
	IQ3_S:   {"IQ3_S", QK_K, 2 + QK_K/4 + QK_K/32 + QK_K/8 + QK_K/64},
	IQ2_S:   {"IQ2_S", QK_K, 2 + QK_K/4 + QK_K/32 + QK_K/32},
	IQ4_XS:  {"IQ4_XS", QK_K, 2 + 2 + QK_K/64 + QK_K/2},
	I8:      {"I8", 1, 1},
	I16:     {"I16", 1, 2},
	I32:     {"I32", 1, 4},
	I64:     {"I64", 1, 8},
	F64:     {"F64", 1, 8},
	IQ1_M:   {"IQ1_M", QK_K, QK_K/8 + QK_K/16 + QK_K/32},
	BF16:    {"BF16", 1, 2},
	TQ1_0:   {"TQ1_0", QK_K, (QK_K-4*QK_K/64)/5 + QK_K/64 + 2},
	TQ2_0:   {"TQ2_0", QK_K, QK_K/4 + 2},
	MXFP4:   {"MXFP4", 32, 1 + 16},
}

// Known reports whether t is a GGML type id this package knows the layout of.
func (t DType) Known() bool { _, ok := layouts[t]; return ok }

// String returns the GGML name of t ("Q4_K"), or "type(N)" for an unknown id.
func (t DType) String() string {
	if l, ok := layouts[t]; ok {
		return l.name
	}
	return fmt.Sprintf("type(%d)", uint32(t))
}

// BlockSize returns the number of elements in one block of t (1 for plain
// types), or 0 if t is unknown.
func (t DType) BlockSize() int { return layouts[t].blockSize }

// TypeSize returns the number of bytes in one block of t, or 0 if t is unknown.
func (t DType) TypeSize() int { return layouts[t].typeSize }

// Quantized reports whether t stores values in blocks of more than one element.
func (t DType) Quantized() bool { return t.BlockSize() > 1 }

// ParseDType returns the type whose GGML name is name (case-sensitive, e.g.
// "Q8_0", "F16").
func ParseDType(name string) (DType, bool) {
	for t, l := range layouts {
		if l.name == name {
			return t, true
		}
	}
	return 0, false
}

// RowBytes returns the number of bytes that n elements of type t occupy.
// It fails if t is unknown or n is not a whole number of blocks.
func RowBytes(t DType, n int) (int, error) {
	l, ok := layouts[t]
	if !ok {
		return 0, fmt.Errorf("tensor: unknown type id %d", uint32(t))
	}
	if n < 0 || n%l.blockSize != 0 {
		return 0, fmt.Errorf("tensor: %d elements of %s is not a whole number of %d-element blocks", n, l.name, l.blockSize)
	}
	return n / l.blockSize * l.typeSize, nil
}
