package train

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"math"
	"os"
	"strings"
)

// The optimizer state file, little-endian:
//
//	magic    [8]byte "SPTADAMW"
//	version  uint32  1
//	step     uint64  updates done
//	tensors  uint32  number of tensors
//	elems    [tensors]uint64  values per tensor, in Params order
//	m        float32 per value, tensors in order
//	v        float32 per value, tensors in order
//	crc      uint32  CRC-32 (IEEE) of every byte before it
const (
	stateMagic   = "SPTADAMW"
	stateVersion = 1
)

// OptimizerPath returns where the optimizer state of the checkpoint at
// ggufPath lives: beside it, with the extension .adamw instead of .gguf.
func OptimizerPath(ggufPath string) string {
	return strings.TrimSuffix(ggufPath, ".gguf") + ".adamw"
}

// WriteTo writes the optimizer's step count and moments to w (see the
// format above) and returns the number of bytes written.
func (o *AdamW) WriteTo(w io.Writer) (int64, error) {
	cw := &countWriter{w: bufio.NewWriterSize(w, 1<<16), crc: crc32.NewIEEE()}
	var b [8]byte
	cw.write([]byte(stateMagic))
	binary.LittleEndian.PutUint32(b[:4], stateVersion)
	cw.write(b[:4])
	binary.LittleEndian.PutUint64(b[:], uint64(o.step))
	cw.write(b[:])
	binary.LittleEndian.PutUint32(b[:4], uint32(len(o.m.Tensors)))
	cw.write(b[:4])
	for _, t := range o.m.Tensors {
		binary.LittleEndian.PutUint64(b[:], uint64(len(t.W)))
		cw.write(b[:])
	}
	for _, p := range []*Params{o.m, o.v} {
		if cw.err == nil {
			cw.err = writeF32(cw, p.data)
		}
	}
	binary.LittleEndian.PutUint32(b[:4], cw.crc.Sum32())
	cw.write(b[:4])
	if cw.err == nil {
		cw.err = cw.w.(*bufio.Writer).Flush()
	}
	if cw.err != nil {
		return cw.n, fmt.Errorf("train: write optimizer state: %w", cw.err)
	}
	return cw.n, nil
}

// countWriter writes through, counting bytes, hashing them and keeping the
// first error.
type countWriter struct {
	w   io.Writer
	crc hash.Hash32
	n   int64
	err error
}

func (c *countWriter) write(b []byte) {
	if c.err != nil {
		return
	}
	k, err := c.w.Write(b)
	c.crc.Write(b[:k])
	c.n += int64(k)
	c.err = err
}

func (c *countWriter) Write(b []byte) (int, error) {
	c.write(b)
	if c.err != nil {
		return 0, c.err
	}
	return len(b), nil
}

// ErrStateMismatch is wrapped by ReadFrom's errors when a well-formed
// state file belongs to a model of another shape.
var ErrStateMismatch = errors.New("optimizer state does not match the model")

// ReadFrom replaces the optimizer's step count and moments by those read
// from r, which must hold a state written by WriteTo for parameters of the
// same shape (the same tensor count and sizes). It reads exactly the
// bytes of one state, never more than that shape implies. On any error (bad magic or version, a mismatch, a short
// file, a checksum failure) the optimizer is left unchanged.
func (o *AdamW) ReadFrom(r io.Reader) (int64, error) {
	cr := &countReader{r: r, crc: crc32.NewIEEE()}
	fail := func(format string, args ...any) (int64, error) {
		return cr.n, fmt.Errorf("train: optimizer state at byte %d: %w", cr.n, fmt.Errorf(format, args...))
	}
	var b [8]byte
	if !cr.read(b[:]) {
		return fail("reading the header: %w", cr.err)
	}
	if string(b[:]) != stateMagic {
		return fail("not an optimizer state file (magic %q)", b[:])
	}
	if !cr.read(b[:4]) {
		return fail("reading the header: %w", cr.err)
	}
	if v := binary.LittleEndian.Uint32(b[:4]); v != stateVersion {
		return fail("version %d, want %d", v, stateVersion)
	}
	if !cr.read(b[:]) {
		return fail("reading the header: %w", cr.err)
	}
	step := binary.LittleEndian.Uint64(b[:])
	if step > math.MaxInt64 {
		return fail("step %d out of range", step)
	}
	if !cr.read(b[:4]) {
		return fail("reading the header: %w", cr.err)
	}
	if k := binary.LittleEndian.Uint32(b[:4]); int(k) != len(o.m.Tensors) {
		return fail("%d tensors, the model has %d: %w", k, len(o.m.Tensors), ErrStateMismatch)
	}
	for _, t := range o.m.Tensors {
		if !cr.read(b[:]) {
			return fail("reading the sizes: %w", cr.err)
		}
		if k := binary.LittleEndian.Uint64(b[:]); k != uint64(len(t.W)) {
			return fail("tensor %s has %d values in the file, %d in the model: %w", t.Name, k, len(t.W), ErrStateMismatch)
		}
	}
	m, v := newParams(o.m.Config), newParams(o.m.Config)
	for _, p := range []*Params{m, v} {
		if err := cr.readF32(p.data); err != nil {
			return fail("reading the moments: %w", err)
		}
	}
	sum := cr.crc.Sum32()
	if !cr.read(b[:4]) {
		return fail("reading the checksum: %w", cr.err)
	}
	if got := binary.LittleEndian.Uint32(b[:4]); got != sum {
		return fail("checksum %08x, computed %08x", got, sum)
	}
	o.step, o.m, o.v = int64(step), m, v
	return cr.n, nil
}

// countReader reads exactly, counting bytes and hashing them.
type countReader struct {
	r   io.Reader
	crc hash.Hash32
	n   int64
	err error
}

func (c *countReader) read(b []byte) bool {
	k, err := io.ReadFull(c.r, b)
	c.crc.Write(b[:k])
	c.n += int64(k)
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	c.err = err
	return err == nil
}

func (c *countReader) readF32(x []float32) error {
	var buf [1 << 15]byte
	for len(x) > 0 {
		k := min(len(x), len(buf)/4)
		if !c.read(buf[:4*k]) {
			return c.err
		}
		for i := range k {
			x[i] = math.Float32frombits(binary.LittleEndian.Uint32(buf[4*i:]))
		}
		x = x[k:]
	}
	return nil
}

// Save writes the optimizer state to path, atomically: to a temporary
// file in the same directory, renamed over path when complete.
func (o *AdamW) Save(path string) error {
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return fmt.Errorf("train: %w", err)
	}
	if _, err := o.WriteTo(f); err != nil {
		f.Close()
		os.Remove(tmp)
		return err
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("train: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("train: %w", err)
	}
	return nil
}

// Load reads the optimizer state at path (see ReadFrom).
func (o *AdamW) Load(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("train: %w", err)
	}
	defer f.Close()
	if _, err := o.ReadFrom(f); err != nil {
		return fmt.Errorf("%w (%s)", err, path)
	}
	return nil
}
