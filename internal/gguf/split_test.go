package gguf_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sputnik-llm/sputnik/internal/gguf"
	"github.com/sputnik-llm/sputnik/internal/testutil"
)

// TestSplitModel opens a model split in parts and checks that it is the
// same model: metadata, every tensor's info and bytes, total size.
func TestSplitModel(t *testing.T) {
	src, err := gguf.Open(testutil.SharedFile(t, "models/stories260K.gguf"))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	for _, tc := range []struct {
		n          int
		emptyFirst bool
	}{{2, false}, {3, false}, {3, true}} {
		dir := t.TempDir()
		paths := testutil.WriteSplit(t, src, dir, tc.n, tc.emptyFirst, nil)
		f, err := gguf.Open(paths[0])
		if err != nil {
			t.Fatalf("%d parts: %v", tc.n, err)
		}
		if len(f.Tensors) != len(src.Tensors) {
			t.Fatalf("%d parts: %d tensors, want %d", tc.n, len(f.Tensors), len(src.Tensors))
		}
		var size int64
		for _, p := range paths {
			st, _ := os.Stat(p)
			size += st.Size()
		}
		if f.Size != size {
			t.Errorf("%d parts: Size %d, want the parts' total %d", tc.n, f.Size, size)
		}
		if f.Architecture() != "llama" {
			t.Errorf("metadata not from the first part: architecture %q", f.Architecture())
		}
		parts := map[int]bool{}
		for i := range src.Tensors {
			want := &src.Tensors[i]
			got, ok := f.Tensor(want.Name)
			if !ok {
				t.Fatalf("tensor %s missing", want.Name)
			}
			parts[got.Part] = true
			if got.Type != want.Type || !bytes.Equal(f.TensorData(got), src.TensorData(want)) {
				t.Fatalf("tensor %s differs (part %d)", want.Name, got.Part)
			}
			f.WillNeed(f.TensorData(got))
		}
		if len(parts) != tc.n-map[bool]int{true: 1}[tc.emptyFirst] {
			t.Errorf("tensors came from %d parts, want %d", len(parts), tc.n)
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// TestSplitErrors checks that a broken split model is an error that says
// what is wrong, never a crash or a partial model.
func TestSplitErrors(t *testing.T) {
	src, err := gguf.Open(testutil.SharedFile(t, "models/stories260K.gguf"))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	for _, tc := range []struct {
		name string
		edit func(part int, w *gguf.Writer)
		open int    // which part to open
		mv   string // rename the first part to this
		rm   int    // remove this part (0: none)
		want string
	}{
		{name: "missing part", rm: 3, want: "part 3 of 3"},
		{name: "not the first part", open: 1, want: "open the first part"},
		{name: "wrong index", edit: func(p int, w *gguf.Writer) {
			if p == 2 {
				w.AddKV(gguf.KeySplitNo, uint16(1))
			}
		}, want: "says it is part 2 of 3, want part 3 of 3"},
		{name: "count mismatch", edit: func(p int, w *gguf.Writer) {
			if p == 1 {
				w.AddKV(gguf.KeySplitCount, uint16(4))
			}
		}, want: "want part 2 of 3"},
		{name: "tensor count", edit: func(p int, w *gguf.Writer) {
			if p == 0 {
				w.AddKV(gguf.KeySplitTensors, int32(7))
			}
		}, want: "split.tensors.count = 7"},
		{name: "duplicate tensor", edit: func(p int, w *gguf.Writer) {
			if p == 2 {
				ti := &src.Tensors[0]
				w.AddTensor(ti.Name, ti.Type, ti.Shape, src.TensorData(ti))
			}
		}, want: "in more than one part"},
		{name: "bad index", edit: func(p int, w *gguf.Writer) {
			if p == 0 {
				w.AddKV(gguf.KeySplitNo, uint16(5))
			}
		}, want: "not a part of a split model"},
		{name: "unrecognized name", mv: "renamed.gguf", want: "cannot be found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			paths := testutil.WriteSplit(t, src, dir, 3, false, tc.edit)
			if tc.rm > 0 {
				os.Remove(paths[tc.rm-1])
			}
			open := paths[tc.open]
			if tc.mv != "" {
				open = filepath.Join(dir, tc.mv)
				if err := os.Rename(paths[0], open); err != nil {
					t.Fatal(err)
				}
			}
			f, err := gguf.Open(open)
			if err == nil {
				f.Close()
				t.Fatalf("opened; want an error containing %q", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q; want it to contain %q", err, tc.want)
			}
		})
	}
}
