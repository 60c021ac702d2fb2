package testutil

import (
	"path/filepath"
	"testing"

	"github.com/sputnik-llm/sputnik/internal/gguf"
)

// WriteSplit writes src as n parts PREFIX-0000i-of-0000n.gguf in dir, the
// way gguf-split lays them out: the metadata in the first part, tensors in
// contiguous runs (none in the first part when emptyFirst), split.* keys in
// every part. edit, if set, may change each part's writer before it is
// written. It returns the parts' paths.
func WriteSplit(t testing.TB, src *gguf.File, dir string, n int, emptyFirst bool, edit func(part int, w *gguf.Writer)) []string {
	t.Helper()
	var paths []string
	per := (len(src.Tensors) + n - 1) / n
	first := 0
	if emptyFirst {
		per = (len(src.Tensors) + n - 2) / (n - 1)
		first = 1
	}
	for i := range n {
		w := gguf.NewWriter()
		if i == 0 {
			for _, kv := range src.KV {
				w.AddKV(kv.Key, kv.Value)
			}
		}
		w.AddKV(gguf.KeySplitNo, uint16(i))
		w.AddKV(gguf.KeySplitCount, uint16(n))
		w.AddKV(gguf.KeySplitTensors, int32(len(src.Tensors)))
		if i >= first {
			lo := (i - first) * per
			for j := lo; j < min(lo+per, len(src.Tensors)); j++ {
				ti := &src.Tensors[j]
				w.AddTensor(ti.Name, ti.Type, ti.Shape, src.TensorData(ti))
			}
		}
		if edit != nil {
			edit(i, w)
		}
		p, _ := gguf.SplitPartPath(filepath.Join(dir, "model-00001-of-00001.gguf"), i, n)
		if err := w.WriteFile(p); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	return paths
}
