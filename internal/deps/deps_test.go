package deps

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// jsonTagExceptions are the non-test files outside internal/server/openai
// allowed to carry json struct tags, with the reason.
var jsonTagExceptions = map[string]string{
	"internal/tokenizer/hf/hf.go":  "reads Hugging Face's tokenizer.json, a file format that is JSON",
	"internal/hub/store.go":        "the model store's manifest, a file format that is JSON",
	"cmd/sputnik/generate.go":      "the --json output of sputnik generate",
	"cmd/sputnik/tokenize.go":      "the --json output of sputnik tokenize",
	"cmd/sputnik/info.go":          "the --json output of sputnik info",
	"cmd/sputnik/bench.go":         "the --json output of sputnik bench",
	"cmd/sputnik/bench_streams.go": "the --json output of sputnik bench --streams (batch.mjs's fields)",
	"cmd/sputnik/cpuinfo.go":       "the cpu object of sputnik bench --json",
}

// file is one parsed Go file: its directory relative to the module root
// (slash-separated), its imports and whether it has json struct tags.
type file struct {
	rel      string // path relative to the root, e.g. "internal/chat/think.go"
	dir      string // e.g. "internal/chat"
	test     bool
	imports  []string
	jsonTags []string // "Type.Field" of each tagged field
}

var jsonKey = regexp.MustCompile(`(^|\s)json:"`)

// parseTree parses every Go file under root, skipping testdata, vendor,
// node_modules and directories starting with "." or "_" (kernel/_asm is
// its own module).
func parseTree(root string) ([]file, error) {
	var files []file
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if p != root && (name == "testdata" || name == "vendor" || name == "node_modules" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_")) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(name, ".go") {
			return nil
		}
		af, err := parser.ParseFile(fset, p, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		rel = filepath.ToSlash(rel)
		f := file{rel: rel, dir: path.Dir(rel), test: strings.HasSuffix(name, "_test.go")}
		for _, im := range af.Imports {
			ip, _ := strconv.Unquote(im.Path.Value)
			f.imports = append(f.imports, ip)
		}
		ast.Inspect(af, func(n ast.Node) bool {
			ts, ok := n.(*ast.TypeSpec)
			if !ok {
				return true
			}
			ast.Inspect(ts.Type, func(n ast.Node) bool {
				fld, ok := n.(*ast.Field)
				if !ok || fld.Tag == nil {
					return true
				}
				tag, _ := strconv.Unquote(fld.Tag.Value)
				if jsonKey.MatchString(tag) {
					name := "(embedded)"
					if len(fld.Names) > 0 {
						name = fld.Names[0].Name
					}
					f.jsonTags = append(f.jsonTags, ts.Name.Name+"."+name)
				}
				return true
			})
			return true
		})
		files = append(files, f)
		return nil
	})
	return files, err
}

// under reports whether dir is pkg or inside it.
func under(dir, pkg string) bool { return dir == pkg || strings.HasPrefix(dir, pkg+"/") }

// check returns every violation of the layout rules in files of module mod.
func check(mod string, files []file, jsonExceptions map[string]string) []string {
	var bad []string
	report := func(f file, format string, args ...any) {
		bad = append(bad, f.rel+": "+fmt.Sprintf(format, args...))
	}
	internal := mod + "/internal/"
	for _, f := range files {
		for _, ip := range f.imports {
			rel, local := strings.CutPrefix(ip, mod+"/")
			switch {
			case ip == "net/http" || strings.HasPrefix(ip, "net/http/"):
				if !under(f.dir, "internal/server") && !under(f.dir, "internal/hub") && !under(f.dir, "cmd") {
					report(f, "imports %s (only server/..., hub and cmd/... may)", ip)
				}
			case ip == "testing" || strings.HasPrefix(ip, "testing/"):
				if !f.test && !under(f.dir, "internal/testutil") {
					report(f, "imports %s outside a test file (only tests and testutil may)", ip)
				}
			case local && rel == "internal/testutil":
				if !f.test {
					report(f, "imports testutil outside a test file")
				}
			case local && rel == "internal/server":
				if !under(f.dir, "cmd") && f.dir != "internal/server" {
					report(f, "imports internal/server (only cmd/* may)")
				}
			case local && rel == "internal/server/openai":
				if !under(f.dir, "cmd") && !under(f.dir, "internal/server") {
					report(f, "imports internal/server/openai (only the server and cmd/* may)")
				}
			}
			// Architecture packages (internal/model/X but nn) never import
			// each other.
			if arch := archOf(f.dir); arch != "" && strings.HasPrefix(ip, internal+"model/") {
				if other := archOf(strings.TrimPrefix(ip, mod+"/")); other != "" && other != arch {
					report(f, "architecture %s imports architecture %s (shared code goes to model/nn)", arch, other)
				}
			}
			// The wire package stays a leaf: the standard library and chat.
			if f.dir == "internal/server/openai" && !f.test && strings.Contains(strings.SplitN(ip, "/", 2)[0], ".") &&
				ip != internal+"chat" {
				report(f, "internal/server/openai imports %s (only the standard library and internal/chat)", ip)
			}
		}
		if len(f.jsonTags) > 0 && !f.test && f.dir != "internal/server/openai" {
			if _, ok := jsonExceptions[f.rel]; !ok {
				report(f, "json struct tags on %s (API wire types belong in internal/server/openai)", strings.Join(f.jsonTags, ", "))
			}
		}
	}
	sort.Strings(bad)
	return bad
}

// archOf returns the architecture package a directory belongs to
// (internal/model/X/..., X not nn), or "".
func archOf(dir string) string {
	rest, ok := strings.CutPrefix(dir, "internal/model/")
	if !ok {
		return ""
	}
	arch := strings.SplitN(rest, "/", 2)[0]
	if arch == "nn" {
		return ""
	}
	return arch
}

func modulePath(t *testing.T, root string) string {
	data, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if m, ok := strings.CutPrefix(strings.TrimSpace(line), "module "); ok {
			return strings.TrimSpace(m)
		}
	}
	t.Fatal("go.mod has no module line")
	return ""
}

// TestLayoutRules checks the whole module.
func TestLayoutRules(t *testing.T) {
	root := filepath.Join("..", "..")
	mod := modulePath(t, root)
	files, err := parseTree(root)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 100 {
		t.Fatalf("only %d Go files found under %s", len(files), root)
	}
	for _, v := range check(mod, files, jsonTagExceptions) {
		t.Error(v)
	}
	// Every exception still exists and still needs to be one.
	for rel := range jsonTagExceptions {
		i := slices.IndexFunc(files, func(f file) bool { return f.rel == rel })
		if i < 0 || len(files[i].jsonTags) == 0 {
			t.Errorf("stale json tag exception %s: remove it", rel)
		}
	}
}

// TestCheckerCatchesViolations runs the checker on a synthetic module with
// one violation of each rule (and allowed cases that must pass).
func TestCheckerCatchesViolations(t *testing.T) {
	root := t.TempDir()
	write := func(rel, src string) {
		p := filepath.Join(root, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("go.mod", "module example.com/m\n")
	write("internal/chat/a.go", "package chat\nimport _ \"net/http\"\n")
	write("internal/chat/b.go", "package chat\nimport _ \"testing\"\n")
	write("internal/chat/c.go", "package chat\nimport _ \"example.com/m/internal/testutil\"\n")
	write("internal/chat/ok_test.go", "package chat\nimport (\n_ \"testing\"\n_ \"example.com/m/internal/testutil\"\n)\n")
	write("internal/engine/d.go", "package engine\nimport _ \"example.com/m/internal/server\"\n")
	write("internal/engine/e.go", "package engine\ntype Resp struct {\n\tX int `json:\"x\"`\n}\n")
	write("internal/engine/ok.go", "package engine\ntype T struct {\n\tX int `yaml:\"x\"`\n}\n")
	write("internal/model/dense/f.go", "package dense\nimport _ \"example.com/m/internal/model/deepseek2\"\n")
	write("internal/model/dense/ok.go", "package dense\nimport _ \"example.com/m/internal/model/nn\"\n")
	write("internal/server/ok.go", "package server\nimport (\n_ \"net/http\"\n_ \"example.com/m/internal/server/openai\"\n)\n")
	write("internal/server/openai/ok.go", "package openai\nimport _ \"example.com/m/internal/chat\"\ntype W struct {\n\tX int `json:\"x\"`\n}\n")
	write("internal/server/openai/g.go", "package openai\nimport _ \"example.com/m/internal/engine\"\n")
	write("internal/testutil/ok.go", "package testutil\nimport _ \"testing\"\n")
	write("cmd/x/ok.go", "package main\nimport (\n_ \"net/http\"\n_ \"example.com/m/internal/server\"\n)\n")
	write("cmd/x/h.go", "package main\ntype Out struct {\n\tY int `json:\"y\"`\n}\n")
	write("testdata/skip.go", "package skip\nimport _ \"net/http\"\n")

	files, err := parseTree(root)
	if err != nil {
		t.Fatal(err)
	}
	got := check(modulePath(t, root), files, map[string]string{})
	want := []string{
		"cmd/x/h.go: json struct tags on Out.Y (API wire types belong in internal/server/openai)",
		"internal/chat/a.go: imports net/http (only server/..., hub and cmd/... may)",
		"internal/chat/b.go: imports testing outside a test file (only tests and testutil may)",
		"internal/chat/c.go: imports testutil outside a test file",
		"internal/engine/d.go: imports internal/server (only cmd/* may)",
		"internal/engine/e.go: json struct tags on Resp.X (API wire types belong in internal/server/openai)",
		"internal/model/dense/f.go: architecture dense imports architecture deepseek2 (shared code goes to model/nn)",
		"internal/server/openai/g.go: internal/server/openai imports example.com/m/internal/engine (only the standard library and internal/chat)",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got violations\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
	// An exception silences exactly its file.
	got = check(modulePath(t, root), files, map[string]string{"cmd/x/h.go": "test"})
	if len(got) != len(want)-1 {
		t.Errorf("with an exception: got %d violations, want %d", len(got), len(want)-1)
	}
}
