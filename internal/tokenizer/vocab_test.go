package tokenizer

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/sputnik-llm/sputnik/internal/gguf"
	"github.com/sputnik-llm/sputnik/internal/testutil"
)

// vocabCase is one test string of a llama.cpp .inp/.out pair.
type vocabCase struct {
	text string
	want []int32
}

// readVocabCases reads llama.cpp's test vectors (format in
// ../shared/testdata/README.md §2).
func readVocabCases(t testing.TB, inpPath, outPath string) []vocabCase {
	t.Helper()
	inp, err := os.ReadFile(inpPath)
	if err != nil {
		t.Fatal(err)
	}
	out, err := os.ReadFile(outPath)
	if err != nil {
		t.Fatal(err)
	}
	const sep = "\n__ggml_vocab_test__\n"
	var texts []string
	for s := string(inp); len(s) > 0; {
		i := strings.Index(s, sep)
		if i < 0 {
			t.Fatalf("%s: trailing text without separator", inpPath)
		}
		texts = append(texts, s[:i])
		s = s[i+len(sep):]
	}
	lines := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	if len(lines) != len(texts) {
		t.Fatalf("%s: %d inputs, %d output lines", inpPath, len(texts), len(lines))
	}
	cases := make([]vocabCase, len(texts))
	for i, text := range texts {
		cases[i].text = text
		for _, f := range strings.Fields(lines[i]) {
			v, err := strconv.ParseInt(f, 10, 32)
			if err != nil {
				t.Fatalf("%s line %d: %v", outPath, i+1, err)
			}
			cases[i].want = append(cases[i].want, int32(v))
		}
	}
	return cases
}

func loadGGUF(t testing.TB, path string) *Tokenizer {
	t.Helper()
	f, err := gguf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tok, err := FromGGUF(f)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func equalIDs(a, b []int32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// checkCases encodes every case (no BOS/EOS, special text as plain text) and
// reports mismatches; it returns the number that passed.
func checkCases(t *testing.T, tok *Tokenizer, cases []vocabCase) int {
	t.Helper()
	pass := 0
	for i, c := range cases {
		got := tok.Encode(c.text, EncodeOptions{})
		if equalIDs(got, c.want) {
			pass++
			continue
		}
		t.Errorf("case %d %q:\n got %v\nwant %v", i, c.text, got, c.want)
	}
	return pass
}

// TestVocabVectors runs every ggml-vocab-*.gguf that has an .inp/.out pair.
func TestVocabVectors(t *testing.T) {
	dir := filepath.Join(testutil.SharedTestdata(t), "vocab")
	files, err := filepath.Glob(filepath.Join(dir, "ggml-vocab-*.gguf"))
	if err != nil {
		t.Fatal(err)
	}
	ran := 0
	for _, path := range files {
		name := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(path), "ggml-vocab-"), ".gguf")
		if _, err := os.Stat(path + ".inp"); err != nil {
			continue
		}
		ran++
		t.Run(name, func(t *testing.T) {
			tok := loadGGUF(t, path)
			cases := readVocabCases(t, path+".inp", path+".out")
			pass := checkCases(t, tok, cases)
			t.Logf("%s: %d/%d exact", name, pass, len(cases))
		})
	}
	if ran == 0 {
		t.Fatal("no vocab files with test vectors found")
	}
}
