package hub

import (
	"strings"
	"testing"
)

func TestParseName(t *testing.T) {
	tests := []struct {
		in   string
		want Name
		err  string
	}{
		{"unsloth/DeepSeek-R1-GGUF", Name{"unsloth", "DeepSeek-R1-GGUF", ""}, ""},
		{"unsloth/DeepSeek-R1-GGUF:UD-IQ1_S", Name{"unsloth", "DeepSeek-R1-GGUF", "UD-IQ1_S"}, ""},
		{"hf.co/bartowski/DeepSeek-R1-Distill-Qwen-7B-GGUF:q4_k_m", Name{"bartowski", "DeepSeek-R1-Distill-Qwen-7B-GGUF", "Q4_K_M"}, ""},
		{"huggingface.co/a/b:Q8_0", Name{"a", "b", "Q8_0"}, ""},
		{"https://huggingface.co/a/b", Name{"a", "b", ""}, ""},
		{"a/b:latest", Name{"a", "b", ""}, ""},
		{"a.b_c/d.e-1.5B:F16", Name{"a.b_c", "d.e-1.5B", "F16"}, ""},
		{"model.gguf", Name{}, "want owner/repo"},
		{"a/b/c", Name{}, "not allowed"},
		{"/b", Name{}, "owner: empty"},
		{"a/", Name{}, "repo: empty"},
		{"a/b:", Name{}, "empty or overlong"},
		{"a/b:Q4 K", Name{}, "not allowed"},
		{"a/b:x:y", Name{}, "not allowed"},
		{"-a/b", Name{}, "must not start"},
		{"a/b.", Name{}, "must not start or end"},
		{"a/b--c", Name{}, `"--"`},
		{"a/..", Name{}, `".."`},
		{"../x", Name{}, `".."`},
		{"./x.gguf", Name{}, "must not start"},
		{"a/" + strings.Repeat("x", 97), Name{}, "longer than"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseName(tc.in)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("got %v, %v; want error containing %q", got, err, tc.err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("got %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
}

// FuzzParseName: ParseName never panics, and a parsed name prints to a
// string that parses back to itself.
func FuzzParseName(f *testing.F) {
	for _, s := range []string{"a/b", "hf.co/a/b:Q4_K_M", "a/b:latest", "x", "a/b:c:d", "https://huggingface.co/o/r:UD-IQ1_S"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := ParseName(s)
		if err != nil {
			return
		}
		m, err := ParseName(n.String())
		if err != nil || m != n {
			t.Fatalf("%q -> %+v -> %q -> %+v, %v", s, n, n.String(), m, err)
		}
		if strings.ContainsAny(n.Owner+n.Repo+n.Quant, "/:\\ ") {
			t.Fatalf("%q: separators left in %+v", s, n)
		}
	})
}

func TestQuantOf(t *testing.T) {
	for in, want := range map[string]string{
		"DeepSeek-R1-Distill-Qwen-7B-Q4_K_M.gguf":                     "Q4_K_M",
		"UD-IQ1_S/DeepSeek-R1-UD-IQ1_S-00001-of-00003.gguf":           "UD-IQ1_S",
		"llama-2-7b.Q8_0.gguf":                                        "Q8_0",
		"qwen2.5-0.5b-instruct-q4_0.gguf":                             "Q4_0",
		"model-BF16.gguf":                                             "BF16",
		"DeepSeek-R1-Q2_K_XL/DeepSeek-R1-Q2_K_XL-00001-of-00005.gguf": "Q2_K_XL",
		"stories260K.gguf":                                            "",
	} {
		if got := QuantOf(in); got != want {
			t.Errorf("QuantOf(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestChoose(t *testing.T) {
	files := []RemoteFile{
		{Path: "m-Q8_0.gguf", Size: 800},
		{Path: "m-Q4_K_M.gguf", Size: 400},
		{Path: "m-Q4_K_S.gguf", Size: 380},
		{Path: "m-IQ1_S.gguf", Size: 100},
		{Path: "UD-IQ1_S/m-UD-IQ1_S-00002-of-00002.gguf", Size: 60},
		{Path: "UD-IQ1_S/m-UD-IQ1_S-00001-of-00002.gguf", Size: 60},
		{Path: "mmproj-m-F16.gguf", Size: 50},
		{Path: "README.md", Size: 5},
	}
	vs := Variants(files)
	if got := strings.Join(Available(vs), ","); got != "UD-IQ1_S,IQ1_S,Q4_K_M,Q4_K_S,Q8_0" {
		t.Fatalf("Available = %s", got)
	}
	for quant, want := range map[string]string{
		"":         "m-Q4_K_M.gguf",
		"Q4_K_M":   "m-Q4_K_M.gguf",
		"Q8_0":     "m-Q8_0.gguf",
		"IQ1_S":    "m-IQ1_S.gguf",
		"UD-IQ1_S": "UD-IQ1_S/m-UD-IQ1_S-00001-of-00002.gguf",
	} {
		v, err := Choose(vs, quant)
		if err != nil || v.Files[0].Path != want {
			t.Errorf("Choose(%q) = %v, %v; want %s", quant, v.Files, err, want)
		}
	}
	v, _ := Choose(vs, "UD-IQ1_S")
	if len(v.Files) != 2 || v.Size() != 120 {
		t.Errorf("split variant: got %v", v.Files)
	}
	if _, err := Choose(vs, "Q3_K_M"); err == nil || !strings.Contains(err.Error(), "available: UD-IQ1_S, IQ1_S, Q4_K_M") {
		t.Errorf("unknown quant: got %v", err)
	}
	// Without Q4_K_M and friends: the smallest (100 bytes against 2×60).
	v, _ = Choose(Variants(files[3:6]), "")
	if v.Files[0].Path != "m-IQ1_S.gguf" {
		t.Errorf("default without preferred tags: got %v", v.Files)
	}
}
