package gguf_test

import (
	"bytes"
	"io"
	"strings"
	"testing"

	"github.com/sputnik-llm/sputnik/internal/gguf"
	"github.com/sputnik-llm/sputnik/internal/tensor"
)

// TestAddTensorFunc: a tensor written by a fill function gives the same
// file as the same bytes given to AddTensor; a fill that writes the wrong
// number of bytes is an error.
func TestAddTensorFunc(t *testing.T) {
	data := []byte{1, 2, 3, 4, 5, 6, 7, 8}
	build := func(stream bool, n int) (*bytes.Buffer, error) {
		w := gguf.NewWriter()
		w.AddKV("general.architecture", "test")
		w.AddTensor("a", tensor.I8, []uint64{3}, data[:3])
		if stream {
			w.AddTensorFunc("b", tensor.I8, []uint64{8}, func(dst io.Writer) error {
				_, err := dst.Write(data[:n])
				return err
			})
		} else {
			w.AddTensor("b", tensor.I8, []uint64{8}, data)
		}
		var b bytes.Buffer
		_, err := w.WriteTo(&b)
		return &b, err
	}
	want, err := build(false, 8)
	if err != nil {
		t.Fatal(err)
	}
	got, err := build(true, 8)
	if err != nil || !bytes.Equal(got.Bytes(), want.Bytes()) {
		t.Fatalf("streamed file differs (%v)", err)
	}
	if f, err := gguf.ParseMetadata(got.Bytes()[:72]); err != nil || f.Architecture() != "test" {
		t.Errorf("ParseMetadata of a prefix: %v", err)
	}
	if _, err := build(true, 5); err == nil || !strings.Contains(err.Error(), "wrote 5 bytes, want 8") {
		t.Errorf("short fill: got %v", err)
	}
}
