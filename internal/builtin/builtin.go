// Package builtin holds the model that ships inside the sputnik binary:
// the GGUF file in models/ (see models/README.md), embedded with go:embed,
// which run, generate and serve use when no -m is given. A build whose
// models/ directory holds no .gguf file has no built-in model.
package builtin

import (
	"embed"
	"io/fs"
	"strings"
	"sync"
)

//go:embed models
var files embed.FS

// load finds the embedded model once: the first .gguf file of models/ by
// name (models/README.md asks for at most one).
var load = sync.OnceValues(func() (string, []byte) {
	entries, err := fs.ReadDir(files, "models")
	if err != nil {
		return "", nil // not reached: the directory is embedded
	}
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), ".gguf")
		if !ok || e.IsDir() || name == "" {
			continue
		}
		data, err := files.ReadFile("models/" + e.Name())
		if err != nil || len(data) == 0 {
			return "", nil
		}
		return name, data
	}
	return "", nil
})

// Model returns the built-in model: its name (the file name without
// .gguf, e.g. "r1-tiny") and its GGUF image, or ok false when this build
// has none. The image is copied out of the binary once, into a heap
// buffer (at least 8-byte aligned, so F32 weights can be used in place),
// and shared by every caller: it must not be modified (gguf.ParseBytes
// only reads it). Model is safe for concurrent use.
func Model() (name string, data []byte, ok bool) {
	name, data = load()
	return name, data, data != nil
}
