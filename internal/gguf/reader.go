package gguf

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"sort"

	"github.com/sputnik-llm/sputnik/internal/tensor"
)

// Magic is the first four bytes of every GGUF file.
const Magic = "GGUF"

// DefaultAlignment is the data alignment when general.alignment is absent.
const DefaultAlignment = 32

// MaxDims is the largest number of dimensions a tensor may have (ggml's limit).
const MaxDims = 4

// ErrKeyNotFound is wrapped by accessor errors for missing metadata keys.
var ErrKeyNotFound = errors.New("key not found")

// FormatError reports malformed GGUF data at a byte offset.
type FormatError struct {
	Offset int64  // byte offset in the file where the problem was found
	Msg    string // what is wrong
}

func (e *FormatError) Error() string {
	return fmt.Sprintf("gguf: at byte %d: %s", e.Offset, e.Msg)
}

// KV is one metadata entry.
type KV struct {
	Key   string
	Value Value
}

// TensorInfo describes one tensor of a GGUF file.
type TensorInfo struct {
	Name   string
	Type   tensor.DType
	Shape  []uint64 // GGUF order: innermost (contiguous) dimension first
	Offset uint64   // byte offset of the data, relative to the data section
	Size   uint64   // byte size of the data
	Part   int      // index of the file holding the data in a split model (0: the first, or only, file)
}

// Elements returns the number of elements in the tensor.
func (t *TensorInfo) Elements() uint64 {
	n := uint64(1)
	for _, d := range t.Shape {
		n *= d
	}
	return n
}

// decoder reads little-endian GGUF values from buf, tracking the offset.
type decoder struct {
	buf []byte
	off int64
}

func (d *decoder) errf(format string, args ...any) error {
	return &FormatError{Offset: d.off, Msg: fmt.Sprintf(format, args...)}
}

func (d *decoder) remaining() uint64 { return uint64(int64(len(d.buf)) - d.off) }

func (d *decoder) take(n uint64, what string) ([]byte, error) {
	if n > d.remaining() {
		return nil, d.errf("%s needs %d bytes but only %d remain (truncated file?)", what, n, d.remaining())
	}
	b := d.buf[d.off : d.off+int64(n)]
	d.off += int64(n)
	return b, nil
}

func (d *decoder) u32(what string) (uint32, error) {
	b, err := d.take(4, what)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint32(b), nil
}

func (d *decoder) u64(what string) (uint64, error) {
	b, err := d.take(8, what)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint64(b), nil
}

func (d *decoder) str(what string) (string, error) {
	start := d.off
	n, err := d.u64(what + " length")
	if err != nil {
		return "", err
	}
	if n > d.remaining() {
		d.off = start
		return "", d.errf("%s length %d exceeds the %d bytes left in the file", what, n, d.remaining()-8)
	}
	b, _ := d.take(n, what)
	return string(b), nil
}

// parse decodes the header, metadata and tensor infos of buf into f.
func parse(f *File, buf []byte) error { return parseHeader(f, buf, false) }

// parseHeader parses buf into f; with metaOnly it stops after the metadata
// (buf may then be a prefix of the file).
func parseHeader(f *File, buf []byte, metaOnly bool) error {
	d := &decoder{buf: buf}
	magic, err := d.take(4, "magic")
	if err != nil {
		return err
	}
	if string(magic) != Magic {
		return &FormatError{0, fmt.Sprintf("not a GGUF file (magic %q, want %q)", magic, Magic)}
	}
	ver, err := d.u32("version")
	if err != nil {
		return err
	}
	switch {
	case ver == 2 || ver == 3:
	case ver == 1:
		return &FormatError{4, "GGUF version 1 is not supported (convert the file with a newer llama.cpp)"}
	case bits.ReverseBytes32(ver) == 2 || bits.ReverseBytes32(ver) == 3:
		return &FormatError{4, "big-endian GGUF files are not supported"}
	default:
		return &FormatError{4, fmt.Sprintf("unknown GGUF version %d (supported: 2, 3)", ver)}
	}
	f.Version = ver
	nTensors, err := d.u64("tensor count")
	if err != nil {
		return err
	}
	nKV, err := d.u64("metadata count")
	if err != nil {
		return err
	}
	// Each KV takes at least 8 (key length) + 4 (type) + 1 bytes; each
	// tensor info at least 8 + 4 + 4 + 8. Reject counts the file cannot hold
	// before allocating anything.
	if nKV > d.remaining()/13 {
		return &FormatError{16, fmt.Sprintf("metadata count %d is impossible for a %d-byte file", nKV, len(buf))}
	}
	if !metaOnly && nTensors > d.remaining()/24 {
		return &FormatError{8, fmt.Sprintf("tensor count %d is impossible for a %d-byte file", nTensors, len(buf))}
	}

	f.KV = make([]KV, 0, nKV)
	f.kvIndex = make(map[string]int, nKV)
	for i := uint64(0); i < nKV; i++ {
		at := d.off
		key, err := d.str(fmt.Sprintf("metadata key %d", i))
		if err != nil {
			return err
		}
		if _, dup := f.kvIndex[key]; dup {
			return &FormatError{at, fmt.Sprintf("duplicate metadata key %q", key)}
		}
		typ, err := d.u32(fmt.Sprintf("type of %q", key))
		if err != nil {
			return err
		}
		v, err := d.value(ValueType(typ), key, 0)
		if err != nil {
			return err
		}
		f.kvIndex[key] = len(f.KV)
		f.KV = append(f.KV, KV{key, v})
	}
	if metaOnly {
		return nil
	}

	f.Alignment = DefaultAlignment
	if v, ok := f.Get("general.alignment"); ok {
		a, err := v.Int()
		if err != nil || a <= 0 || a&(a-1) != 0 || a > 1<<30 {
			return &FormatError{d.off, fmt.Sprintf("general.alignment must be a positive power of two, got %v", v.Any())}
		}
		f.Alignment = uint64(a)
	}

	f.Tensors = make([]TensorInfo, 0, nTensors)
	f.tensorIndex = make(map[string]int, nTensors)
	for i := uint64(0); i < nTensors; i++ {
		at := d.off
		ti, err := d.tensorInfo(i, f.Alignment)
		if err != nil {
			return err
		}
		if _, dup := f.tensorIndex[ti.Name]; dup {
			return &FormatError{at, fmt.Sprintf("duplicate tensor name %q", ti.Name)}
		}
		f.tensorIndex[ti.Name] = len(f.Tensors)
		f.Tensors = append(f.Tensors, ti)
	}

	// The data section starts at the next multiple of the alignment.
	f.DataOffset = alignUp(uint64(d.off), f.Alignment)
	if len(f.Tensors) > 0 && f.DataOffset > uint64(len(buf)) {
		return &FormatError{d.off, fmt.Sprintf("data section at %d lies beyond the end of the %d-byte file", f.DataOffset, len(buf))}
	}
	return checkExtents(f, uint64(len(buf)))
}

func alignUp(x, a uint64) uint64 { return (x + a - 1) / a * a }

// checkExtents verifies that tensor data lies within the file and that no
// two tensors overlap.
func checkExtents(f *File, fileSize uint64) error {
	order := make([]int, len(f.Tensors))
	for i := range order {
		order[i] = i
	}
	sort.Slice(order, func(a, b int) bool { return f.Tensors[order[a]].Offset < f.Tensors[order[b]].Offset })
	dataSize := uint64(0)
	if fileSize > f.DataOffset {
		dataSize = fileSize - f.DataOffset
	}
	var prevEnd uint64
	var prev string
	for k, i := range order {
		t := &f.Tensors[i]
		if t.Offset > dataSize || t.Size > dataSize-t.Offset {
			return &FormatError{int64(f.DataOffset + t.Offset), fmt.Sprintf("tensor %q data [%d, %d) lies outside the file (data section holds %d bytes)", t.Name, t.Offset, t.Offset+t.Size, dataSize)}
		}
		if k > 0 && t.Offset < prevEnd && t.Size > 0 {
			return &FormatError{int64(f.DataOffset + t.Offset), fmt.Sprintf("tensor %q data at offset %d overlaps tensor %q, which ends at %d", t.Name, t.Offset, prev, prevEnd)}
		}
		if end := t.Offset + t.Size; end > prevEnd {
			prevEnd, prev = end, t.Name
		}
	}
	return nil
}

// tensorInfo decodes the i'th tensor info.
func (d *decoder) tensorInfo(i uint64, align uint64) (TensorInfo, error) {
	name, err := d.str(fmt.Sprintf("tensor %d name", i))
	if err != nil {
		return TensorInfo{}, err
	}
	at := d.off
	nDims, err := d.u32(fmt.Sprintf("tensor %q dimension count", name))
	if err != nil {
		return TensorInfo{}, err
	}
	if nDims == 0 || nDims > MaxDims {
		return TensorInfo{}, &FormatError{at, fmt.Sprintf("tensor %q has %d dimensions (want 1 to %d)", name, nDims, MaxDims)}
	}
	shape := make([]uint64, nDims)
	n := uint64(1)
	for j := range shape {
		at := d.off
		if shape[j], err = d.u64(fmt.Sprintf("tensor %q dimension %d", name, j)); err != nil {
			return TensorInfo{}, err
		}
		if shape[j] > math.MaxInt64 {
			return TensorInfo{}, &FormatError{at, fmt.Sprintf("tensor %q dimension %d = %d is too large", name, j, shape[j])}
		}
		hi, lo := bits.Mul64(n, shape[j])
		if hi != 0 || lo > math.MaxInt64 {
			return TensorInfo{}, &FormatError{at, fmt.Sprintf("tensor %q: element count overflows (shape %v)", name, shape[:j+1])}
		}
		n = lo
	}
	at = d.off
	typ, err := d.u32(fmt.Sprintf("tensor %q type", name))
	if err != nil {
		return TensorInfo{}, err
	}
	dt := tensor.DType(typ)
	if !dt.Known() {
		return TensorInfo{}, &FormatError{at, fmt.Sprintf("tensor %q has unknown type id %d", name, typ)}
	}
	if shape[0]%uint64(dt.BlockSize()) != 0 {
		return TensorInfo{}, &FormatError{at, fmt.Sprintf("tensor %q: row length %d is not a multiple of the %s block size %d", name, shape[0], dt, dt.BlockSize())}
	}
	blocks := n / uint64(dt.BlockSize())
	hi, size := bits.Mul64(blocks, uint64(dt.TypeSize()))
	if hi != 0 || size > math.MaxInt64 {
		return TensorInfo{}, &FormatError{at, fmt.Sprintf("tensor %q: byte size overflows", name)}
	}
	at = d.off
	off, err := d.u64(fmt.Sprintf("tensor %q offset", name))
	if err != nil {
		return TensorInfo{}, err
	}
	if off%align != 0 {
		return TensorInfo{}, &FormatError{at, fmt.Sprintf("tensor %q offset %d is not a multiple of the alignment %d", name, off, align)}
	}
	return TensorInfo{Name: name, Type: dt, Shape: shape, Offset: off, Size: size}, nil
}

// maxDepth bounds nesting of arrays of arrays.
const maxDepth = 8

// value decodes one metadata value of type t for key.
func (d *decoder) value(t ValueType, key string, depth int) (Value, error) {
	at := d.off
	if sz := t.scalarSize(); sz > 0 {
		b, err := d.take(uint64(sz), fmt.Sprintf("value of %q", key))
		if err != nil {
			return Value{}, err
		}
		return scalar(t, b, at)
	}
	switch t {
	case TypeString:
		s, err := d.str(fmt.Sprintf("value of %q", key))
		return Value{Type: TypeString, v: s}, err
	case TypeArray:
		if depth >= maxDepth {
			return Value{}, d.errf("metadata %q: arrays nested deeper than %d", key, maxDepth)
		}
		et, err := d.u32(fmt.Sprintf("array element type of %q", key))
		if err != nil {
			return Value{}, err
		}
		n, err := d.u64(fmt.Sprintf("array length of %q", key))
		if err != nil {
			return Value{}, err
		}
		return d.array(ValueType(et), n, key, depth)
	}
	return Value{}, &FormatError{at - 4, fmt.Sprintf("metadata %q has unknown value type %d", key, uint32(t))}
}

func scalar(t ValueType, b []byte, at int64) (Value, error) {
	le := binary.LittleEndian
	var v any
	switch t {
	case TypeUint8:
		v = b[0]
	case TypeInt8:
		v = int8(b[0])
	case TypeBool:
		if b[0] > 1 {
			return Value{}, &FormatError{at, fmt.Sprintf("bool value %d is neither 0 nor 1", b[0])}
		}
		v = b[0] == 1
	case TypeUint16:
		v = le.Uint16(b)
	case TypeInt16:
		v = int16(le.Uint16(b))
	case TypeUint32:
		v = le.Uint32(b)
	case TypeInt32:
		v = int32(le.Uint32(b))
	case TypeFloat32:
		v = math.Float32frombits(le.Uint32(b))
	case TypeUint64:
		v = le.Uint64(b)
	case TypeInt64:
		v = int64(le.Uint64(b))
	case TypeFloat64:
		v = math.Float64frombits(le.Uint64(b))
	}
	return Value{Type: t, v: v}, nil
}

// array decodes n elements of type et. Lengths are checked against the
// bytes left before anything is allocated.
func (d *decoder) array(et ValueType, n uint64, key string, depth int) (Value, error) {
	at := d.off
	minSize := uint64(et.scalarSize())
	switch et {
	case TypeString:
		minSize = 8
	case TypeArray:
		minSize = 12
	}
	if minSize == 0 {
		return Value{}, &FormatError{at - 12, fmt.Sprintf("metadata %q: array has unknown element type %d", key, uint32(et))}
	}
	if n > d.remaining()/minSize {
		return Value{}, &FormatError{at - 8, fmt.Sprintf("metadata %q: array length %d exceeds what the %d bytes left can hold", key, n, d.remaining())}
	}
	if sz := et.scalarSize(); sz > 0 {
		b, _ := d.take(n*uint64(sz), key)
		v, err := scalarArray(et, b, int(n), at)
		return Value{Type: TypeArray, Elem: et, v: v}, err
	}
	switch et {
	case TypeString:
		a := make([]string, n)
		for i := range a {
			s, err := d.str("array element")
			if err != nil {
				return Value{}, fmt.Errorf("metadata %q element %d: %w", key, i, err)
			}
			a[i] = s
		}
		return Value{Type: TypeArray, Elem: TypeString, v: a}, nil
	default: // TypeArray
		a := make([]Value, n)
		for i := range a {
			et2, err := d.u32(fmt.Sprintf("element type of %q[%d]", key, i))
			if err != nil {
				return Value{}, err
			}
			n2, err := d.u64(fmt.Sprintf("length of %q[%d]", key, i))
			if err != nil {
				return Value{}, err
			}
			if a[i], err = d.array(ValueType(et2), n2, key, depth+1); err != nil {
				return Value{}, err
			}
		}
		return Value{Type: TypeArray, Elem: TypeArray, v: a}, nil
	}
}

func scalarArray(et ValueType, b []byte, n int, at int64) (any, error) {
	le := binary.LittleEndian
	switch et {
	case TypeUint8:
		return append([]uint8(nil), b...), nil
	case TypeInt8:
		a := make([]int8, n)
		for i := range a {
			a[i] = int8(b[i])
		}
		return a, nil
	case TypeBool:
		a := make([]bool, n)
		for i := range a {
			if b[i] > 1 {
				return nil, &FormatError{at + int64(i), fmt.Sprintf("bool value %d is neither 0 nor 1", b[i])}
			}
			a[i] = b[i] == 1
		}
		return a, nil
	case TypeUint16:
		a := make([]uint16, n)
		for i := range a {
			a[i] = le.Uint16(b[2*i:])
		}
		return a, nil
	case TypeInt16:
		a := make([]int16, n)
		for i := range a {
			a[i] = int16(le.Uint16(b[2*i:]))
		}
		return a, nil
	case TypeUint32:
		a := make([]uint32, n)
		for i := range a {
			a[i] = le.Uint32(b[4*i:])
		}
		return a, nil
	case TypeInt32:
		a := make([]int32, n)
		for i := range a {
			a[i] = int32(le.Uint32(b[4*i:]))
		}
		return a, nil
	case TypeFloat32:
		a := make([]float32, n)
		for i := range a {
			a[i] = math.Float32frombits(le.Uint32(b[4*i:]))
		}
		return a, nil
	case TypeUint64:
		a := make([]uint64, n)
		for i := range a {
			a[i] = le.Uint64(b[8*i:])
		}
		return a, nil
	case TypeInt64:
		a := make([]int64, n)
		for i := range a {
			a[i] = int64(le.Uint64(b[8*i:]))
		}
		return a, nil
	default: // TypeFloat64
		a := make([]float64, n)
		for i := range a {
			a[i] = math.Float64frombits(le.Uint64(b[8*i:]))
		}
		return a, nil
	}
}
