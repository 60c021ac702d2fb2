package builtin_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sputnik-llm/sputnik/internal/builtin"
	"github.com/sputnik-llm/sputnik/internal/gguf"
	"github.com/sputnik-llm/sputnik/internal/models"
	"github.com/sputnik-llm/sputnik/internal/tokenizer"
)

// TestModel checks Model against the models/ directory the binary embeds:
// no .gguf file means no built-in model; one means Model returns its name
// and exact bytes, and they load as a model with a tokenizer and a chat
// template (run and serve need both).
func TestModel(t *testing.T) {
	entries, err := os.ReadDir("models")
	if err != nil {
		t.Fatal(err)
	}
	var ggufs []string
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".gguf") {
			ggufs = append(ggufs, e.Name())
		}
	}
	name, data, ok := builtin.Model()
	switch len(ggufs) {
	case 0:
		if ok || name != "" || data != nil {
			t.Fatalf("models/ has no .gguf file, but Model returned %q (%d bytes, ok %v)", name, len(data), ok)
		}
		t.Log("this build has no built-in model")
		return
	case 1:
	default:
		t.Fatalf("models/ holds %d .gguf files (%v); keep one", len(ggufs), ggufs)
	}
	if !ok || name+".gguf" != ggufs[0] {
		t.Fatalf("Model returned %q (ok %v), want %q", name, ok, strings.TrimSuffix(ggufs[0], ".gguf"))
	}
	want, err := os.ReadFile(filepath.Join("models", ggufs[0]))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(data, want) {
		t.Fatalf("Model's %d bytes differ from %s's %d", len(data), ggufs[0], len(want))
	}
	f, err := gguf.ParseBytes(data)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := models.New(f); err != nil {
		t.Fatal(err)
	}
	if _, err := tokenizer.FromGGUF(f); err != nil {
		t.Fatal(err)
	}
	if !f.Has("tokenizer.chat_template") {
		t.Error("the built-in model has no tokenizer.chat_template")
	}
	// Every call returns the same shared bytes.
	if _, again, _ := builtin.Model(); &again[0] != &data[0] {
		t.Error("a second call copied the model again")
	}
}
