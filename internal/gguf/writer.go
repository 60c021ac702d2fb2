package gguf

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"os"

	"github.com/sputnik-llm/sputnik/internal/tensor"
)

// Writer builds a GGUF v3 file: metadata in insertion order, tensors in
// insertion order with offsets aligned to general.alignment (default 32).
// It is used by tests and by tools that convert, quantize or train models.
type Writer struct {
	kv      []KV
	kvIndex map[string]int
	tensors []TensorInfo
	data    [][]byte
	fills   []func(io.Writer) error // non-nil for tensors added with AddTensorFunc
	names   map[string]bool
	err     error
}

// NewWriter returns an empty Writer.
func NewWriter() *Writer {
	return &Writer{kvIndex: map[string]int{}, names: map[string]bool{}}
}

// AddKV sets metadata key to value (see MakeValue for the accepted Go
// types). Setting a key again replaces its value in place. The first error
// is kept and returned by WriteTo.
func (w *Writer) AddKV(key string, value any) {
	v, err := MakeValue(value)
	if err != nil {
		w.setErr(fmt.Errorf("gguf: key %q: %w", key, err))
		return
	}
	if i, ok := w.kvIndex[key]; ok {
		w.kv[i].Value = v
		return
	}
	w.kvIndex[key] = len(w.kv)
	w.kv = append(w.kv, KV{key, v})
}

// AddTensor appends a tensor. shape is in GGUF order (innermost first);
// len(data) must equal the byte size the type and shape imply. data is not
// copied and must stay unchanged until the file is written.
func (w *Writer) AddTensor(name string, t tensor.DType, shape []uint64, data []byte) {
	size, ok := w.addInfo(name, t, shape)
	if !ok {
		return
	}
	if size != len(data) {
		w.setErr(fmt.Errorf("gguf: tensor %q: %d bytes of data, want %d for %s %v", name, len(data), size, t, shape))
		return
	}
	w.commit(name, t, shape, size, data, nil)
}

// AddTensorFunc appends a tensor whose data fill writes to the file when
// WriteTo reaches it, so that a converter can produce one tensor at a time
// instead of holding the whole model in memory. fill must write exactly the
// byte size the type and shape imply (anything else is an error of
// WriteTo); it is called once, in tensor order.
func (w *Writer) AddTensorFunc(name string, t tensor.DType, shape []uint64, fill func(io.Writer) error) {
	size, ok := w.addInfo(name, t, shape)
	if ok {
		w.commit(name, t, shape, size, nil, fill)
	}
}

func (w *Writer) commit(name string, t tensor.DType, shape []uint64, size int, data []byte, fill func(io.Writer) error) {
	w.names[name] = true
	w.tensors = append(w.tensors, TensorInfo{Name: name, Type: t, Shape: append([]uint64(nil), shape...), Size: uint64(size)})
	w.data = append(w.data, data)
	w.fills = append(w.fills, fill)
}

// addInfo checks a new tensor's name and shape and returns its byte size.
func (w *Writer) addInfo(name string, t tensor.DType, shape []uint64) (int, bool) {
	if w.names[name] {
		w.setErr(fmt.Errorf("gguf: duplicate tensor %q", name))
		return 0, false
	}
	n := uint64(1)
	for _, d := range shape {
		n *= d
	}
	size, err := tensor.RowBytes(t, int(n))
	if err != nil || len(shape) == 0 || len(shape) > MaxDims || shape[0]%uint64(t.BlockSize()) != 0 {
		w.setErr(fmt.Errorf("gguf: tensor %q: bad shape %v for %s", name, shape, t))
		return 0, false
	}
	return size, true
}

func (w *Writer) setErr(err error) {
	if w.err == nil {
		w.err = err
	}
}

// WriteFile writes the file to path.
func (w *Writer) WriteFile(path string) error {
	fh, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("gguf: %w", err)
	}
	if _, err := w.WriteTo(fh); err != nil {
		fh.Close()
		return err
	}
	return fh.Close()
}

// WriteTo writes the GGUF image to dst and returns the number of bytes written.
func (w *Writer) WriteTo(dst io.Writer) (int64, error) {
	if w.err != nil {
		return 0, w.err
	}
	align := uint64(DefaultAlignment)
	if i, ok := w.kvIndex["general.alignment"]; ok {
		a, err := w.kv[i].Value.Int()
		if err != nil || a <= 0 || a&(a-1) != 0 {
			return 0, fmt.Errorf("gguf: general.alignment must be a positive power of two")
		}
		align = uint64(a)
	}
	e := &encoder{w: bufio.NewWriterSize(dst, 1<<20)}
	e.raw([]byte(Magic))
	e.u32(3)
	e.u64(uint64(len(w.tensors)))
	e.u64(uint64(len(w.kv)))
	for _, kv := range w.kv {
		e.str(kv.Key)
		e.u32(uint32(kv.Value.Type))
		e.value(kv.Value)
	}
	var off uint64
	for i := range w.tensors {
		t := &w.tensors[i]
		t.Offset = off
		e.str(t.Name)
		e.u32(uint32(len(t.Shape)))
		for _, d := range t.Shape {
			e.u64(d)
		}
		e.u32(uint32(t.Type))
		e.u64(off)
		off = alignUp(off+t.Size, align)
	}
	e.pad(align)
	for i, d := range w.data {
		if fill := w.fills[i]; fill != nil && e.err == nil {
			start := e.n
			if err := fill(e); err != nil {
				return e.n, fmt.Errorf("gguf: tensor %q: %w", w.tensors[i].Name, err)
			}
			if got := uint64(e.n - start); e.err == nil && got != w.tensors[i].Size {
				return e.n, fmt.Errorf("gguf: tensor %q: wrote %d bytes, want %d", w.tensors[i].Name, got, w.tensors[i].Size)
			}
		} else {
			e.raw(d)
		}
		if i < len(w.data)-1 {
			e.pad(align)
		}
	}
	if e.err == nil {
		e.err = e.w.Flush()
	}
	if e.err != nil {
		return e.n, fmt.Errorf("gguf: write: %w", e.err)
	}
	return e.n, nil
}

// encoder writes little-endian GGUF values, remembering the first error.
type encoder struct {
	w   *bufio.Writer
	n   int64
	err error
	buf [8]byte
}

func (e *encoder) raw(b []byte) {
	if e.err != nil {
		return
	}
	n, err := e.w.Write(b)
	e.n += int64(n)
	e.err = err
}

// Write lets tensor fill functions write through the encoder.
func (e *encoder) Write(b []byte) (int, error) {
	e.raw(b)
	if e.err != nil {
		return 0, e.err
	}
	return len(b), nil
}

func (e *encoder) u8(x uint8) { e.buf[0] = x; e.raw(e.buf[:1]) }
func (e *encoder) u16(x uint16) {
	binary.LittleEndian.PutUint16(e.buf[:], x)
	e.raw(e.buf[:2])
}
func (e *encoder) u32(x uint32) {
	binary.LittleEndian.PutUint32(e.buf[:], x)
	e.raw(e.buf[:4])
}
func (e *encoder) u64(x uint64) {
	binary.LittleEndian.PutUint64(e.buf[:], x)
	e.raw(e.buf[:8])
}
func (e *encoder) str(s string) { e.u64(uint64(len(s))); e.raw([]byte(s)) }

func (e *encoder) pad(align uint64) {
	var zero [64]byte
	for n := alignUp(uint64(e.n), align) - uint64(e.n); n > 0; {
		k := min(n, uint64(len(zero)))
		e.raw(zero[:k])
		n -= k
	}
}

func b2u(b bool) uint8 {
	if b {
		return 1
	}
	return 0
}

func (e *encoder) value(v Value) {
	switch x := v.v.(type) {
	case uint8:
		e.u8(x)
	case int8:
		e.u8(uint8(x))
	case bool:
		e.u8(b2u(x))
	case uint16:
		e.u16(x)
	case int16:
		e.u16(uint16(x))
	case uint32:
		e.u32(x)
	case int32:
		e.u32(uint32(x))
	case float32:
		e.u32(math.Float32bits(x))
	case uint64:
		e.u64(x)
	case int64:
		e.u64(uint64(x))
	case float64:
		e.u64(math.Float64bits(x))
	case string:
		e.str(x)
	default:
		e.array(v)
	}
}

func (e *encoder) array(v Value) {
	e.u32(uint32(v.Elem))
	e.u64(uint64(v.Len()))
	switch a := v.v.(type) {
	case []uint8:
		e.raw(a)
	case []int8:
		for _, x := range a {
			e.u8(uint8(x))
		}
	case []bool:
		for _, x := range a {
			e.u8(b2u(x))
		}
	case []uint16:
		for _, x := range a {
			e.u16(x)
		}
	case []int16:
		for _, x := range a {
			e.u16(uint16(x))
		}
	case []uint32:
		for _, x := range a {
			e.u32(x)
		}
	case []int32:
		for _, x := range a {
			e.u32(uint32(x))
		}
	case []float32:
		for _, x := range a {
			e.u32(math.Float32bits(x))
		}
	case []uint64:
		for _, x := range a {
			e.u64(x)
		}
	case []int64:
		for _, x := range a {
			e.u64(uint64(x))
		}
	case []float64:
		for _, x := range a {
			e.u64(math.Float64bits(x))
		}
	case []string:
		for _, x := range a {
			e.str(x)
		}
	case []Value:
		for _, x := range a {
			e.array(x)
		}
	}
}
