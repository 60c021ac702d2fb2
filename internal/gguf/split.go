package gguf

import (
	"fmt"
	"path/filepath"
	"regexp"
)

// Split models (llama.cpp's gguf-split) are stored as parts named
// PREFIX-00001-of-00005.gguf, ... Each part is a GGUF file of its own with
// these keys; the first part carries the model's metadata, every part the
// tensor infos and data of its own tensors.
const (
	KeySplitNo      = "split.no"            // index of this part, from 0
	KeySplitCount   = "split.count"         // number of parts
	KeySplitTensors = "split.tensors.count" // tensors in all parts together
)

// maxSplitParts bounds split.count (gguf-split writes a 5-digit index).
const maxSplitParts = 99999

var splitName = regexp.MustCompile(`^(.*)-([0-9]{5})-of-([0-9]{5})\.gguf$`)

// SplitPartPath returns the path of part i (from 0) of n of the split
// model whose parts are named like path.
func SplitPartPath(path string, i, n int) (string, bool) {
	m := splitName.FindStringSubmatch(filepath.Base(path))
	if m == nil {
		return "", false
	}
	return filepath.Join(filepath.Dir(path), fmt.Sprintf("%s-%05d-of-%05d.gguf", m[1], i+1, n)), true
}

// splitInfo reads a part's split.no and split.count (0, 1 when absent).
func (f *File) splitInfo() (no, count int, err error) {
	if !f.Has(KeySplitCount) {
		return 0, 1, nil
	}
	c, err := f.Uint(KeySplitCount)
	if err != nil {
		return 0, 0, fmt.Errorf("%s: %w", f.Path, err)
	}
	n, err := f.Uint(KeySplitNo)
	if err != nil {
		return 0, 0, fmt.Errorf("%s: %w", f.Path, err)
	}
	if c < 1 || c > maxSplitParts || n >= c {
		return 0, 0, fmt.Errorf("gguf: %s: %s = %d, %s = %d: not a part of a split model", f.Path, KeySplitNo, n, KeySplitCount, c)
	}
	return int(n), int(c), nil
}

// joinParts opens the other parts of a split model whose first part is f
// and adds their tensors to f. A file that is not split is left as it is.
func (f *File) joinParts() error {
	no, count, err := f.splitInfo()
	if err != nil || count == 1 {
		return err
	}
	if no != 0 {
		first, _ := SplitPartPath(f.Path, 0, count)
		return fmt.Errorf("gguf: %s is part %d of %d of a split model: open the first part (%s)", f.Path, no+1, count, first)
	}
	if _, ok := SplitPartPath(f.Path, 0, count); !ok {
		return fmt.Errorf("gguf: %s is the first of %d parts of a split model, but its name does not end in -00001-of-%05d.gguf, so the other parts cannot be found; rename the parts or merge them with llama-gguf-split --merge", f.Path, count, count)
	}
	for i := 1; i < count; i++ {
		path, _ := SplitPartPath(f.Path, i, count)
		p, err := openPart(path)
		if err != nil {
			return fmt.Errorf("gguf: split model %s, part %d of %d: %w", f.Path, i+1, count, err)
		}
		f.parts = append(f.parts, p) // closed with f from here on
		pno, pcount, err := p.splitInfo()
		if err != nil {
			return err
		}
		if pno != i || pcount != count {
			return fmt.Errorf("gguf: %s says it is part %d of %d, want part %d of %d", path, pno+1, pcount, i+1, count)
		}
		for _, t := range p.Tensors {
			if _, dup := f.tensorIndex[t.Name]; dup {
				return fmt.Errorf("gguf: split model %s: tensor %q is in more than one part (again in %s)", f.Path, t.Name, path)
			}
			t.Part = i
			f.tensorIndex[t.Name] = len(f.Tensors)
			f.Tensors = append(f.Tensors, t)
		}
		f.Size += p.Size
	}
	if f.Has(KeySplitTensors) {
		n, err := f.Uint(KeySplitTensors)
		if err != nil {
			return err
		}
		if n != uint64(len(f.Tensors)) {
			return fmt.Errorf("gguf: split model %s: %s = %d, but the %d parts hold %d tensors", f.Path, KeySplitTensors, n, count, len(f.Tensors))
		}
	}
	return nil
}
