package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"testing"

	"github.com/sputnik-llm/sputnik/internal/gguf"
	"github.com/sputnik-llm/sputnik/internal/testutil"
)

// TestQuickstart runs the README's first command in process — the
// built-in model, no -m, asked to add two numbers — with a fixed seed (the
// command itself draws one): it reasons in the <think> block, shown under
// "Thinking…", one line per column, and answers the right sum.
func TestQuickstart(t *testing.T) {
	if _, _, ok := builtinModel(); !ok {
		t.Fatal("this build has no built-in model")
	}
	var out, errb bytes.Buffer
	if err := runChat([]string{"--seed", "1", "What is 4821 + 957?"}, strings.NewReader(""), &out, &errb); err != nil {
		t.Fatalf("run: %v\n%s", err, errb.String())
	}
	want := "Thinking…\n4821 957: 1+7+0=8, 8\n482 95: 2+5+0=7, 78\n48 9: 8+9+0=17, 778\n4 _: 4+0+1=5, 5778\n"
	if !strings.HasPrefix(out.String(), want) {
		t.Errorf("output %q does not start with the worked sum %q", out.String(), want)
	}
	lines := strings.Fields(out.String())
	if got := lines[len(lines)-1]; got != "5778" {
		t.Errorf("answer %q, want 5778 (output %q)", got, out.String())
	}
}

// TestGenerateCommand: greedy generation with stories260K continues the
// prompt as llama.cpp does.
func TestGenerateCommand(t *testing.T) {
	p := testutil.SharedFile(t, "models/stories260K.gguf")
	var out, errb bytes.Buffer
	if err := runGenerate([]string{"-m", p, "-p", "Once upon a time", "-n", "60"}, &out, &errb); err != nil {
		t.Fatalf("generate: %v\n%s", err, errb.String())
	}
	// llama.cpp's greedy continuation (../shared/testdata/golden) starts so.
	if want := ", there was a little girl named Lily. She loved to play outside in the park."; !strings.HasPrefix(out.String(), want) {
		t.Errorf("output %q does not start with %q", out.String(), want)
	}
}

// TestBenchCommand checks that bench reports both tests, for prompt
// lengths shorter and longer than the decode run, as text and JSON.
func TestBenchCommand(t *testing.T) {
	p := testutil.SharedFile(t, "golden/models/deepseek2-tiny-q8_0.gguf")
	for _, args := range [][]string{
		{"--pp", "8", "--tg", "16"},
		{"--pp", "16", "--tg", "8", "--random"},
	} {
		var out, errb bytes.Buffer
		full := append([]string{"-m", p, "--reps", "1", "--json"}, args...)
		if err := runBench(full, &out, &errb); err != nil {
			t.Fatalf("bench %v: %v\n%s", args, err, errb.String())
		}
		var res struct {
			Results []struct {
				Test        string  `json:"test"`
				Median      float64 `json:"median_tok_s"`
				ReadGBs     float64 `json:"read_gb_s"`
				WeightBytes int64   `json:"weight_bytes_per_token"`
				Roofline    float64 `json:"roofline_fraction"`
			} `json:"results"`
		}
		if err := json.Unmarshal(out.Bytes(), &res); err != nil {
			t.Fatalf("bench %v: %v in %s", args, err, out.String())
		}
		if len(res.Results) != 2 || res.Results[0].Test != "pp "+args[1] || res.Results[1].Test != "tg "+args[3] {
			t.Fatalf("bench %v: results %+v", args, res.Results)
		}
		// The MoE file's decode reads all but most routed experts and
		// the embeddings (its output head is separate).
		f, err := gguf.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		var all, experts int64
		for _, ti := range f.Tensors {
			all += int64(ti.Size)
			if strings.Contains(ti.Name, "_exps.") {
				experts += int64(ti.Size)
			}
		}
		f.Close()
		tg := res.Results[1]
		if experts == 0 || tg.WeightBytes <= 0 || tg.WeightBytes >= all-experts/2 || !(tg.ReadGBs > 0) || !(tg.Roofline > 0) {
			t.Errorf("bench %v: tg roofline %+v (file: %d tensor bytes, %d in routed experts)", args, tg, all, experts)
		}
		for _, r := range res.Results {
			if !(r.Median > 0) {
				t.Errorf("bench %v: %s at %v tok/s", args, r.Test, r.Median)
			}
		}
	}
}

// TestBenchLlamaBenchFlags runs bench with llama-bench's flags and comma
// lists: one row per thread count and test, in llama-bench's order (per
// thread count, the prompt tests, then the generation tests), as JSON and
// as the default markdown table.
func TestBenchLlamaBenchFlags(t *testing.T) {
	p := testutil.SharedFile(t, "golden/models/deepseek2-tiny-q8_0.gguf")
	args := []string{"-m", p, "-p", "8,16", "-n", "4", "-t", "1,2", "-r", "2"}
	type row struct {
		Test    string    `json:"test"`
		Threads int       `json:"threads"`
		TokS    []float64 `json:"tok_s"`
		Mean    float64   `json:"mean_tok_s"`
		Stddev  float64   `json:"stddev_tok_s"`
	}
	want := []struct {
		test    string
		threads int
	}{{"pp 8", 1}, {"pp 16", 1}, {"tg 4", 1}, {"pp 8", 2}, {"pp 16", 2}, {"tg 4", 2}}

	var out, errb bytes.Buffer
	if err := runBench(append(args, "-o", "json"), &out, &errb); err != nil {
		t.Fatalf("bench: %v\n%s", err, errb.String())
	}
	var res struct {
		Results []row `json:"results"`
		CPU     struct {
			Path string `json:"kernel_path"`
		} `json:"cpu"`
	}
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		t.Fatalf("%v in %s", err, out.String())
	}
	if len(res.Results) != len(want) {
		t.Fatalf("got %d results, want %d: %+v", len(res.Results), len(want), res.Results)
	}
	for i, w := range want {
		r := res.Results[i]
		if r.Test != w.test || r.Threads != w.threads || len(r.TokS) != 2 {
			t.Errorf("result %d: %s, %d threads, %d runs; want %s, %d threads, 2 runs", i, r.Test, r.Threads, len(r.TokS), w.test, w.threads)
		}
		if m := (r.TokS[0] + r.TokS[1]) / 2; math.Abs(r.Mean-m) > 1e-9*m || !(r.Stddev >= 0) {
			t.Errorf("result %d: mean %v ± %v, want mean %v of %v", i, r.Mean, r.Stddev, m, r.TokS)
		}
	}
	if res.CPU.Path == "" {
		t.Errorf("no kernel path in the JSON's cpu")
	}

	out.Reset()
	if err := runBench(args, &out, &errb); err != nil {
		t.Fatalf("bench: %v\n%s", err, errb.String())
	}
	var rows [][]string
	for _, line := range strings.Split(out.String(), "\n") {
		if strings.HasPrefix(line, "|") {
			cells := strings.Split(strings.Trim(line, "|"), "|")
			for i := range cells {
				cells[i] = strings.TrimSpace(cells[i])
			}
			rows = append(rows, cells)
		}
	}
	if !strings.HasPrefix(out.String(), "CPU: ") || !strings.Contains(out.String(), "AVX-512 ") || !strings.Contains(out.String(), "AMX ") {
		t.Errorf("no CPU header line:\n%s", out.String())
	}
	if len(rows) != 2+len(want) || strings.Join(rows[0], ",") != "model,size,params,backend,threads,test,t/s" {
		t.Fatalf("table:\n%s", out.String())
	}
	for i, w := range want {
		r := rows[2+i]
		if r[0] != "deepseek2 3.31M Q8_0" || r[3] != "CPU" || r[4] != strconv.Itoa(w.threads) || r[5] != strings.ReplaceAll(w.test, " ", "") {
			t.Errorf("row %d: %q, want %s at %d threads", i, r, w.test, w.threads)
		}
		var mean, sd float64
		if _, err := fmt.Sscanf(r[6], "%f ± %f", &mean, &sd); err != nil || !(mean > 0) {
			t.Errorf("row %d: t/s %q, want mean ± stddev", i, r[6])
		}
	}
}

// TestBenchTable checks the markdown table's cells for known results.
func TestBenchTable(t *testing.T) {
	var b bytes.Buffer
	m := benchModel{desc: "qwen2 1.5B Q4_K_M", bytes: 1117 << 20, params: 1_777_088_000}
	med, mean, sd := summarizeRuns([]float64{10, 12, 14})
	if med != 12 || mean != 12 || sd != 2 {
		t.Fatalf("summarizeRuns(10, 12, 14) = %v, %v, %v; want 12, 12, 2", med, mean, sd)
	}
	writeBenchTable(&b, cpuFacts{Model: "Test CPU", CPUs: 2, AVX512: true, VNNI: true, Path: "avx512-vnni"}, m,
		[]benchResult{{Test: "pp 512", Threads: 2, Mean: mean, Stddev: sd}, {Test: "tg 128", Threads: 1, Mean: 20.5, Stddev: 0.25, MajorFaults: 3}})
	got := b.String()
	for _, want := range []string{
		"CPU: Test CPU, 2 CPUs; AVX-512 yes, VNNI yes, BF16 no, AMX no; kernels: avx512-vnni\n",
		"| qwen2 1.5B Q4_K_M              |   1.09 GiB |     1.78 B | CPU        |       2 |         pp512 |         12.00 ± 2.00 |\n",
		"|       1 |         tg128 |         20.50 ± 0.25 |\n",
		"tg128, 1 threads: 3 major page faults",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("table does not contain %q:\n%s", want, got)
		}
	}
	b.Reset()
	writeBenchTable(&b, cpuFacts{}, benchModel{desc: "x", bytes: 3 << 20, params: 3_310_000}, []benchResult{{Test: "pp 8"}})
	if !strings.Contains(b.String(), "3.00 MiB |     3.31 M |") {
		t.Errorf("small model's size and params:\n%s", b.String())
	}
}

// TestIntList checks llama-bench's list flags: the first use replaces the
// default, later ones append.
func TestIntList(t *testing.T) {
	l := intList{v: []int{512}}
	for _, s := range []string{"128, 256", "1024"} {
		if err := l.Set(s); err != nil {
			t.Fatal(err)
		}
	}
	if got := l.String(); got != "128,256,1024" {
		t.Errorf("got %s, want 128,256,1024", got)
	}
	if err := l.Set("1,,2"); err == nil {
		t.Errorf("Set(1,,2) accepted")
	}
}
