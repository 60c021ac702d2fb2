package main

import (
	"fmt"
	"os"
	"time"

	"github.com/sputnik-llm/sputnik/internal/builtin"
	"github.com/sputnik-llm/sputnik/internal/gguf"
)

// builtinModel returns the model built into the binary (internal/builtin):
// its name and GGUF image, ok false when the build has none. Tests replace
// it to install a small model of their own.
var builtinModel = builtin.Model

// defaultModel returns the -m value a command uses: arg when given, else
// the built-in model's name. Without either it is a usage error that says
// so.
func defaultModel(cmd, arg string) (string, error) {
	if arg != "" {
		return arg, nil
	}
	if name, _, ok := builtinModel(); ok {
		return name, nil
	}
	return "", usageError{fmt.Sprintf("no -m given and this build has no built-in model; give -m MODEL.gguf (a file, or a model pulled with sputnik pull) (sputnik %s -h for help)", cmd)}
}

// builtinImage returns the built-in model's GGUF image when arg names it:
// arg is the built-in's name and no file of that name exists (a file
// always wins). Store names have the form owner/repo, so they never
// collide with it.
func builtinImage(arg string) ([]byte, bool) {
	name, data, ok := builtinModel()
	if !ok || arg != name {
		return nil, false
	}
	if _, err := os.Stat(arg); err == nil {
		return nil, false
	}
	return data, true
}

// isBuiltin reports whether arg names the built-in model (see builtinImage).
func isBuiltin(arg string) bool {
	_, ok := builtinImage(arg)
	return ok
}

// describeModel is how messages name the model of -m arg.
func describeModel(arg string) string {
	if isBuiltin(arg) {
		return arg + " (built in)"
	}
	return arg
}

// openBuiltin parses the built-in model's image in place (no copy, no
// temporary file).
func openBuiltin(data []byte) (*gguf.File, error) {
	f, err := gguf.ParseBytes(data)
	if err != nil {
		return nil, fmt.Errorf("the built-in model: %w", err)
	}
	return f, nil
}

// builtinTime is the time the built-in model was made, as far as the
// process knows: the executable's modification time (zero if unknown).
func builtinTime() time.Time {
	exe, err := os.Executable()
	if err != nil {
		return time.Time{}
	}
	st, err := os.Stat(exe)
	if err != nil {
		return time.Time{}
	}
	return st.ModTime()
}
