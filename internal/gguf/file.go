package gguf

import (
	"fmt"
	"os"
	"strings"
	"unsafe"
)

// File is an open GGUF file. Its metadata and tensor infos are parsed at
// Open; tensor data stays in the read-only memory mapping until Close.
// A File is safe for concurrent reads.
type File struct {
	Version    uint32       // GGUF version (2 or 3)
	KV         []KV         // metadata in file order
	Tensors    []TensorInfo // tensor infos in file order
	Alignment  uint64       // general.alignment, or DefaultAlignment
	DataOffset uint64       // byte offset of the data section in the file
	Path       string       // the path given to Open, or "" for ParseBytes
	Size       int64        // file size in bytes (all parts of a split model)

	data        []byte  // the whole file (a mapping, or a heap slice)
	parts       []*File // the other parts of a split model (see split.go)
	unmap       func() error
	onClose     []func() error // OnClose's functions
	kvIndex     map[string]int
	tensorIndex map[string]int
}

// WillNeed advises the OS that b, a slice of this file's tensor data, will
// be read soon, so that pages not in memory are read in the background. It
// is a hint: it does nothing for slices outside the file or on systems
// without it, and errors are ignored. Useful when the file is larger than
// memory and the access pattern is known ahead (chosen MoE experts).
func (f *File) WillNeed(b []byte) { f.advise(b, adviseWillNeed) }

// DontNeed advises the OS that this process will not read b, a slice of
// this file's tensor data, again soon (a model that keeps a converted copy
// of a tensor), so that b's whole pages leave the process's resident set.
// They stay readable: a later read faults them back in. It is a hint like
// WillNeed.
func (f *File) DontNeed(b []byte) { f.advise(b, adviseDontNeed) }

// Holds reports whether b is a non-empty slice of this file's data (any
// part of a split model): tensor data that still aliases the file, not a
// copy of it.
func (f *File) Holds(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	p := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	for _, g := range append([]*File{f}, f.parts...) {
		base := uintptr(unsafe.Pointer(unsafe.SliceData(g.data)))
		if len(g.data) > 0 && p >= base && p-base+uintptr(len(b)) <= uintptr(len(g.data)) {
			return true
		}
	}
	return false
}

// advise calls do with the mapping of the part that holds b and b's offset
// in it, if b lies in a mapped part.
func (f *File) advise(b []byte, do func(mapping []byte, off, n int)) {
	if len(b) == 0 {
		return
	}
	p := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	for _, g := range append([]*File{f}, f.parts...) {
		if len(g.data) == 0 || g.unmap == nil {
			continue
		}
		base := uintptr(unsafe.Pointer(unsafe.SliceData(g.data)))
		if p >= base && p-base+uintptr(len(b)) <= uintptr(len(g.data)) {
			do(g.data, int(p-base), len(b))
			return
		}
	}
}

// Open memory-maps the GGUF file at path and parses its header, metadata
// and tensor infos. The caller must Close the file when done; slices from
// TensorData are invalid after Close.
//
// A split model (llama.cpp's gguf-split: NAME-00001-of-00003.gguf, ...) is
// opened from its first part: the other parts are opened beside it and
// their tensors joined, so the File describes the whole model.
func Open(path string) (*File, error) {
	f, err := openPart(path)
	if err != nil {
		return nil, err
	}
	if err := f.joinParts(); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// openPart opens one GGUF file.
func openPart(path string) (*File, error) {
	// Check the kind of file before opening it: opening a FIFO for reading
	// blocks until a writer appears, and a device cannot be mapped.
	if st, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("gguf: %w", err)
	} else if st.IsDir() {
		return nil, fmt.Errorf("gguf: %s is a directory", path)
	} else if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("gguf: %s is %s, not a regular file", path, fileKind(st.Mode()))
	}
	fh, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("gguf: %w", err)
	}
	defer fh.Close()
	st, err := fh.Stat()
	if err != nil {
		return nil, fmt.Errorf("gguf: %w", err)
	}
	if !st.Mode().IsRegular() { // replaced since the check above
		return nil, fmt.Errorf("gguf: %s is not a regular file", path)
	}
	data, unmap, err := mapFile(fh, st.Size())
	if err != nil {
		return nil, fmt.Errorf("gguf: map %s: %w", path, err)
	}
	f := &File{Path: path, Size: st.Size(), data: data, unmap: unmap}
	if err := parse(f, data); err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return f, nil
}

// fileKind names a non-regular file's type for an error message.
func fileKind(m os.FileMode) string {
	switch {
	case m&os.ModeNamedPipe != 0:
		return "a named pipe (FIFO)"
	case m&os.ModeSocket != 0:
		return "a socket"
	case m&os.ModeDevice != 0:
		return "a device"
	}
	return "a special file"
}

// ParseBytes parses a GGUF image held in memory. The File refers to b
// (it is not copied); b must not change while the File is in use.
func ParseBytes(b []byte) (*File, error) {
	f := &File{Size: int64(len(b)), data: b}
	if err := parse(f, b); err != nil {
		return nil, err
	}
	return f, nil
}

// ParseMetadata parses the header and metadata of a GGUF image of which b
// may hold only a prefix (the first megabytes of a download); the File has
// metadata but no tensors. b is referred to, not copied.
func ParseMetadata(b []byte) (*File, error) {
	f := &File{Size: int64(len(b)), data: b}
	if err := parseHeader(f, b, true); err != nil {
		return nil, err
	}
	return f, nil
}

// OnClose registers fn to run when f is closed, before the mappings are
// released and after any function registered earlier (memory whose
// lifetime is the file's, such as converted copies of its tensors).
func (f *File) OnClose(fn func() error) { f.onClose = append(f.onClose, fn) }

// Close runs the OnClose functions (newest first) and releases the
// mappings. It is safe to call more than once.
func (f *File) Close() error {
	var err error
	for i := len(f.onClose) - 1; i >= 0; i-- {
		if e := f.onClose[i](); e != nil && err == nil {
			err = e
		}
	}
	f.onClose = nil
	for _, p := range f.parts {
		if e := p.Close(); e != nil && err == nil {
			err = e
		}
	}
	f.parts = nil
	f.data = nil
	if f.unmap == nil {
		return err
	}
	u := f.unmap
	f.unmap = nil
	if e := u(); e != nil {
		return e
	}
	return err
}

// Has reports whether key is present.
func (f *File) Has(key string) bool { _, ok := f.kvIndex[key]; return ok }

// Get returns the value of key.
func (f *File) Get(key string) (Value, bool) {
	i, ok := f.kvIndex[key]
	if !ok {
		return Value{}, false
	}
	return f.KV[i].Value, true
}

func (f *File) get(key string) (Value, error) {
	v, ok := f.Get(key)
	if !ok {
		return Value{}, fmt.Errorf("gguf: metadata %q: %w", key, ErrKeyNotFound)
	}
	return v, nil
}

func typeErr(key string, v Value, want string) error {
	return fmt.Errorf("gguf: metadata %q is %s, want %s", key, v.describe(), want)
}

// String returns a string value.
func (f *File) String(key string) (string, error) {
	v, err := f.get(key)
	if err != nil {
		return "", err
	}
	s, ok := v.v.(string)
	if !ok {
		return "", typeErr(key, v, "string")
	}
	return s, nil
}

// Int returns an integer value of any integer type.
func (f *File) Int(key string) (int64, error) {
	v, err := f.get(key)
	if err != nil {
		return 0, err
	}
	n, err := v.Int()
	if err != nil {
		return 0, fmt.Errorf("gguf: metadata %q: %v", key, err)
	}
	return n, nil
}

// Uint returns a non-negative integer value of any integer type.
func (f *File) Uint(key string) (uint64, error) {
	v, err := f.get(key)
	if err != nil {
		return 0, err
	}
	if u, ok := v.v.(uint64); ok {
		return u, nil
	}
	n, err := v.Int()
	if err != nil {
		return 0, fmt.Errorf("gguf: metadata %q: %v", key, err)
	}
	if n < 0 {
		return 0, fmt.Errorf("gguf: metadata %q is %d, want a non-negative integer", key, n)
	}
	return uint64(n), nil
}

// Float returns a float32 or float64 value as float64.
func (f *File) Float(key string) (float64, error) {
	v, err := f.get(key)
	if err != nil {
		return 0, err
	}
	x, err := v.Float()
	if err != nil {
		return 0, fmt.Errorf("gguf: metadata %q: %v", key, err)
	}
	return x, nil
}

// Bool returns a bool value.
func (f *File) Bool(key string) (bool, error) {
	v, err := f.get(key)
	if err != nil {
		return false, err
	}
	b, ok := v.v.(bool)
	if !ok {
		return false, typeErr(key, v, "bool")
	}
	return b, nil
}

// Strings returns an array of strings. The slice is shared: do not modify it.
func (f *File) Strings(key string) ([]string, error) {
	v, err := f.get(key)
	if err != nil {
		return nil, err
	}
	a, ok := v.v.([]string)
	if !ok {
		return nil, typeErr(key, v, "array of string")
	}
	return a, nil
}

// Float32s returns an array of float32 (float64 arrays are converted).
// The slice may be shared: do not modify it.
func (f *File) Float32s(key string) ([]float32, error) {
	v, err := f.get(key)
	if err != nil {
		return nil, err
	}
	switch a := v.v.(type) {
	case []float32:
		return a, nil
	case []float64:
		out := make([]float32, len(a))
		for i, x := range a {
			out[i] = float32(x)
		}
		return out, nil
	}
	return nil, typeErr(key, v, "array of float32")
}

// Int32s returns an array of any integer type converted to int32.
// The slice may be shared: do not modify it.
func (f *File) Int32s(key string) ([]int32, error) {
	v, err := f.get(key)
	if err != nil {
		return nil, err
	}
	a, err := v.Int32s()
	if err != nil {
		return nil, fmt.Errorf("gguf: metadata %q: %v", key, err)
	}
	return a, nil
}

// Architecture returns general.architecture, or "" when absent.
func (f *File) Architecture() string {
	s, _ := f.String("general.architecture")
	return s
}

// Tensor returns the info of the named tensor.
func (f *File) Tensor(name string) (*TensorInfo, bool) {
	i, ok := f.tensorIndex[name]
	if !ok {
		return nil, false
	}
	return &f.Tensors[i], true
}

// TensorData returns the bytes of t's data. The slice aliases the read-only
// mapping: writing to it faults, and it is invalid after Close.
func (f *File) TensorData(t *TensorInfo) []byte {
	src := f
	if t.Part > 0 {
		src = f.parts[t.Part-1]
	}
	start := src.DataOffset + t.Offset
	return src.data[start : start+t.Size : start+t.Size]
}

// Prefixed returns the metadata keys that start with prefix, in file order.
func (f *File) Prefixed(prefix string) []string {
	var keys []string
	for _, kv := range f.KV {
		if strings.HasPrefix(kv.Key, prefix) {
			keys = append(keys, kv.Key)
		}
	}
	return keys
}
