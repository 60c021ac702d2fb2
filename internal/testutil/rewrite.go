package testutil

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"

	"github.com/sputnik-llm/sputnik/internal/gguf"
)

// RewriteGGUF writes src to dir/name with the metadata in set changed (a nil
// value deletes the key; keys src lacks are added) and only the tensors keep
// accepts (all when keep is nil). It returns the new file's path.
func RewriteGGUF(t testing.TB, src *gguf.File, dir, name string, set map[string]any, keep func(tensor string) bool) string {
	t.Helper()
	w := gguf.NewWriter()
	for _, kv := range src.KV {
		if v, ok := set[kv.Key]; ok {
			if v != nil {
				w.AddKV(kv.Key, v)
			}
			continue
		}
		w.AddKV(kv.Key, kv.Value)
	}
	for k, v := range set {
		if _, ok := src.Get(k); !ok && v != nil {
			w.AddKV(k, v)
		}
	}
	for i := range src.Tensors {
		ti := &src.Tensors[i]
		if keep == nil || keep(ti.Name) {
			w.AddTensor(ti.Name, ti.Type, ti.Shape, src.TensorData(ti))
		}
	}
	p := filepath.Join(dir, name)
	if err := w.WriteFile(p); err != nil {
		t.Fatal(err)
	}
	return p
}

// PatchArrayLen overwrites, in the GGUF file at path, the stored length of
// the array-valued metadata key with n, leaving everything else as it is: a
// file that claims far more elements than it holds. The key must be an
// array of strings or scalars.
func PatchArrayLen(t testing.TB, path, key string, n uint64) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// key length (u64), key bytes, value type (u32 = 9, array), element
	// type (u32), element count (u64).
	var pat []byte
	pat = binary.LittleEndian.AppendUint64(pat, uint64(len(key)))
	pat = append(pat, key...)
	pat = binary.LittleEndian.AppendUint32(pat, uint32(gguf.TypeArray))
	i := bytes.Index(b, pat)
	if i < 0 {
		t.Fatalf("testutil: array %q not found in %s", key, path)
	}
	binary.LittleEndian.PutUint64(b[i+len(pat)+4:], n)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}
