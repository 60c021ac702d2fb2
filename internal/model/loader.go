package model

import (
	"errors"
	"fmt"
	"math"
	"unsafe"

	"github.com/sputnik-llm/sputnik/internal/gguf"
	"github.com/sputnik-llm/sputnik/internal/kernel"
	"github.com/sputnik-llm/sputnik/internal/tensor"
)

// Loader reads hyperparameters and weights of one architecture from a GGUF
// file. It records the first error and turns later calls into no-ops, so a
// loader can list every tensor and then check Err once, the way llama.cpp's
// create_tensor calls read.
type Loader struct {
	F    *gguf.File
	Arch string // prefix of hyperparameter keys
	err  error
}

// NewLoader returns a loader for f whose hyperparameter keys start with arch.
func NewLoader(f *gguf.File, arch string) *Loader {
	return &Loader{F: f, Arch: arch}
}

// Err returns the first error met.
func (ld *Loader) Err() error { return ld.err }

// Fail records err unless an error is already recorded.
func (ld *Loader) Fail(err error) {
	if ld.err == nil {
		ld.err = err
	}
}

// Failf records a formatted error.
func (ld *Loader) Failf(format string, args ...any) { ld.Fail(fmt.Errorf(format, args...)) }

func (ld *Loader) key(k string) string { return ld.Arch + "." + k }

// MaxHyperparameter is the largest value an integer hyperparameter may
// take: every count, width and length a model file states is a 32-bit
// quantity in llama.cpp, and anything beyond it (a context of 2⁶², 2⁴⁰
// heads) is refused at load, naming the key, before it can size anything.
const MaxHyperparameter = math.MaxInt32

// Int returns the required integer hyperparameter {arch}.k, which must lie
// in [0, MaxHyperparameter].
func (ld *Loader) Int(k string) int {
	if ld.err != nil {
		return 0
	}
	n, err := ld.F.Int(ld.key(k))
	if err != nil {
		ld.Fail(fmt.Errorf("model: %w", err))
		return 0
	}
	if n < 0 || n > MaxHyperparameter {
		ld.Failf("model: %s = %d is out of range [0, %d]", ld.key(k), n, MaxHyperparameter)
		return 0
	}
	return int(n)
}

// CheckBlocks fails unless {arch}.block_count = blocks is positive and the
// file holds at least perBlock tensors for each block: a layer count is
// believed only as far as the file backs it with weights, so a billion
// layers in a small file cannot size the layer table.
func (ld *Loader) CheckBlocks(blocks, perBlock int) {
	if ld.err != nil {
		return
	}
	if blocks <= 0 {
		ld.Failf("model: %s = %d must be positive", ld.key("block_count"), blocks)
	} else if n := len(ld.F.Tensors); blocks > n/perBlock {
		ld.Failf("model: %s = %d, but the file has only %d tensors (at least %d per block)", ld.key("block_count"), blocks, n, perBlock)
	}
}

// IntOr returns the integer hyperparameter {arch}.k, or def when absent.
func (ld *Loader) IntOr(k string, def int) int {
	if !ld.F.Has(ld.key(k)) {
		return def
	}
	return ld.Int(k)
}

// FloatOr returns the float hyperparameter {arch}.k, or def when absent.
func (ld *Loader) FloatOr(k string, def float32) float32 {
	if ld.err != nil || !ld.F.Has(ld.key(k)) {
		return def
	}
	x, err := ld.F.Float(ld.key(k))
	if err != nil {
		ld.Fail(fmt.Errorf("model: %w", err))
	}
	return float32(x)
}

// BoolOr returns the bool hyperparameter {arch}.k, or def when absent.
func (ld *Loader) BoolOr(k string, def bool) bool {
	if ld.err != nil || !ld.F.Has(ld.key(k)) {
		return def
	}
	b, err := ld.F.Bool(ld.key(k))
	if err != nil {
		ld.Fail(fmt.Errorf("model: %w", err))
	}
	return b
}

// StringOr returns the string hyperparameter {arch}.k, or def when absent.
func (ld *Loader) StringOr(k string, def string) string {
	if ld.err != nil || !ld.F.Has(ld.key(k)) {
		return def
	}
	s, err := ld.F.String(ld.key(k))
	if err != nil {
		ld.Fail(fmt.Errorf("model: %w", err))
	}
	return s
}

// Has reports whether the file has the named tensor.
func (ld *Loader) Has(name string) bool { _, ok := ld.F.Tensor(name); return ok }

// info finds name and checks its GGUF shape equals ne (innermost first).
func (ld *Loader) info(name string, ne ...int) *gguf.TensorInfo {
	if ld.err != nil {
		return nil
	}
	t, ok := ld.F.Tensor(name)
	if !ok {
		ld.Failf("model: missing tensor %s", name)
		return nil
	}
	match := len(t.Shape) == len(ne)
	for i := 0; match && i < len(ne); i++ {
		match = t.Shape[i] == uint64(ne[i])
	}
	if !match {
		// Report shapes row-major (outermost first), as the rest of the code does.
		want := make([]int, len(ne))
		for i := range ne {
			want[i] = ne[len(ne)-1-i]
		}
		got := make([]uint64, len(t.Shape))
		for i := range t.Shape {
			got[i] = t.Shape[len(t.Shape)-1-i]
		}
		ld.Failf("model: tensor %s has shape %v, expected %v (row-major)", name, got, want)
		return nil
	}
	return t
}

// Mat loads the required matrix name as [rows][cols] (GGUF ne {cols, rows}).
// Its data stays in the file mapping.
func (ld *Loader) Mat(name string, rows, cols int) tensor.Mat {
	t := ld.info(name, cols, rows)
	if t == nil {
		return tensor.Mat{}
	}
	if !supported(t.Type) {
		ld.Fail(unsupportedErr(t))
		return tensor.Mat{}
	}
	return tensor.Mat{Type: t.Type, Rows: rows, Cols: cols, Data: ld.F.TensorData(t)}
}

// OptionalMat loads name like Mat if the file has it, and reports whether it did.
func (ld *Loader) OptionalMat(name string, rows, cols int) (tensor.Mat, bool) {
	if !ld.Has(name) {
		return tensor.Mat{}, false
	}
	return ld.Mat(name, rows, cols), true
}

// Mats loads the required 3-D tensor name as n matrices [n][rows][cols]
// (GGUF ne {cols, rows, n}), e.g. the routed experts of a MoE layer.
func (ld *Loader) Mats(name string, n, rows, cols int) []tensor.Mat {
	t := ld.info(name, cols, rows, n)
	if t == nil {
		return nil
	}
	if !supported(t.Type) {
		ld.Fail(unsupportedErr(t))
		return nil
	}
	data := ld.F.TensorData(t)
	size := len(data) / n
	ms := make([]tensor.Mat, n)
	for i := range ms {
		ms[i] = tensor.Mat{Type: t.Type, Rows: rows, Cols: cols, Data: data[i*size : (i+1)*size : (i+1)*size]}
	}
	return ms
}

// Vec loads the required 1-D tensor name of length n as float32 (F32 data
// is used in place; other types are converted once).
func (ld *Loader) Vec(name string, n int) []float32 {
	t := ld.info(name, n)
	if t == nil {
		return nil
	}
	return ld.floats(t)
}

// OptionalVec loads name like Vec if the file has it; otherwise it returns nil.
func (ld *Loader) OptionalVec(name string, n int) []float32 {
	if !ld.Has(name) {
		return nil
	}
	return ld.Vec(name, n)
}

func (ld *Loader) floats(t *gguf.TensorInfo) []float32 {
	data := ld.F.TensorData(t)
	n := int(t.Elements())
	if t.Type == tensor.F32 {
		if n == 0 {
			return nil
		}
		// The data section is aligned to at least 32 bytes in a page-aligned
		// mapping, so the reinterpretation is aligned.
		return unsafe.Slice((*float32)(unsafe.Pointer(&data[0])), n)
	}
	out := make([]float32, n)
	if err := tensor.Dequantize(t.Type, out, data); err != nil {
		ld.Fail(fmt.Errorf("model: tensor %s: %w", t.Name, err))
		return nil
	}
	return out
}

// supported reports whether the kernels can compute with weight matrices of
// type t: multiply them (kernel.MatMul) and read their rows (embeddings).
// Checking here, at load, turns a type the kernels lack (MXFP4, or the
// activation-only Q8_1 and Q8_K) into an error naming the tensor instead of
// a panic in the first forward pass.
func supported(t tensor.DType) bool { return tensor.CanDequantize(t) && kernel.CanMatMul(t) }

// ErrUnsupportedType is wrapped by load errors for weight types the
// kernels cannot compute with yet.
var ErrUnsupportedType = errors.New("unsupported tensor type")

func unsupportedErr(t *gguf.TensorInfo) error {
	return fmt.Errorf("model: tensor %s has type %s, which is not supported yet: %w", t.Name, t.Type, ErrUnsupportedType)
}
