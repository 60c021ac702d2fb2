package chat

import (
	"strings"
	"testing"
)

var thinkTests = []struct {
	name          string
	in            string
	start         bool // StartInReasoning
	reason, reply string
}{
	{"R1 output", "<think>\nI reason.\n</think>\n\nAnswer.", false, "I reason.", "Answer."},
	{"no tags", "Just an answer.\n", false, "", "Just an answer.\n"},
	{"leading space before think", "  \n<think>x</think>y", false, "x", "y"},
	{"unterminated reasoning", "<think>still thinking\n", false, "still thinking", ""},
	{"partial open tag at end", "<thi", false, "", "<thi"},
	{"whitespace only", "\n\n", false, "", "\n\n"},
	{"think later is content", "Answer mentions <think> and </think>.", false, "", "Answer mentions <think> and </think>."},
	{"second close is content", "<think>a</think>b</think>c", false, "a", "b</think>c"},
	{"empty reasoning", "<think></think>x", false, "", "x"},
	{"false close tags", "<think>a < b </th ink </thinking></think>c", false, "a < b </th ink </thinking>", "c"},
	{"stray close without start", "</think>x", false, "", "</think>x"},
	{"nothing after think", "<think>x</think>   ", false, "x", ""},
	{"unicode", "<think>日本語 </think> 答え", false, "日本語", "答え"},
	{"double angle", "<<think>x", false, "", "<<think>x"},
	{"opened by template", "reasoning\n</think>\n\nanswer", true, "reasoning", "answer"},
	{"opened by template, repeated by model", "\n<think>\nr</think>a", true, "r", "a"},
	{"opened by template, unterminated", "abc <th", true, "abc <th", ""},
	{"opened by template, empty", "", true, "", ""},
	{"opened by template, partial open at end", "<thi", true, "<thi", ""},
	{"non-ASCII space kept", "<think>\u3000x\u3000</think>\u3000y", false, "\u3000x\u3000", "\u3000y"},
}

// split runs a splitter over chunks and returns the concatenated outputs,
// checking that reasoning never follows content.
func split(t testing.TB, chunks []string, start bool) (reasoning, content string) {
	s := NewThinkSplitter(ThinkOptions{StartInReasoning: start})
	var r, c strings.Builder
	add := func(ri, ci string) {
		if ri != "" && c.Len() > 0 {
			t.Fatalf("reasoning %q emitted after content %q (chunks %q)", ri, c.String(), chunks)
		}
		r.WriteString(ri)
		c.WriteString(ci)
	}
	for _, ch := range chunks {
		add(s.Push(ch))
	}
	add(s.Flush())
	return r.String(), c.String()
}

func TestThinkSplitter(t *testing.T) {
	for _, tc := range thinkTests {
		t.Run(tc.name, func(t *testing.T) {
			check := func(how string, chunks []string) {
				t.Helper()
				r, c := split(t, chunks, tc.start)
				if r != tc.reason || c != tc.reply {
					t.Fatalf("%s %q: got reasoning %q content %q, want %q and %q", how, chunks, r, c, tc.reason, tc.reply)
				}
			}
			check("one chunk", []string{tc.in})
			bytes := make([]string, len(tc.in))
			for i := 0; i < len(tc.in); i++ {
				bytes[i] = tc.in[i : i+1]
			}
			check("byte by byte", bytes)
			for i := 0; i <= len(tc.in); i++ {
				check("two chunks", []string{tc.in[:i], tc.in[i:]})
				for j := i; j <= len(tc.in); j++ {
					check("three chunks", []string{tc.in[:i], tc.in[i:j], tc.in[j:]})
				}
			}
		})
	}
}

func TestThinkSplitterInReasoning(t *testing.T) {
	s := NewThinkSplitter(ThinkOptions{})
	if s.InReasoning() {
		t.Fatal("in reasoning before any output")
	}
	if r, c := s.Push("<thi"); r != "" || c != "" {
		t.Fatalf("got %q %q before the tag is complete", r, c)
	}
	if r, c := s.Push("nk>abc "); r != "abc" || c != "" {
		t.Fatalf("got %q %q, want reasoning \"abc\" with the space held back", r, c)
	}
	if !s.InReasoning() {
		t.Fatal("not in reasoning after <think>")
	}
	if r, c := s.Push("</think>x"); r != "" || c != "x" {
		t.Fatalf("got %q %q", r, c)
	}
	if s.InReasoning() {
		t.Fatal("still in reasoning after </think>")
	}
}

// FuzzThinkSplitter checks that the split does not depend on chunking: any
// chunking gives the same concatenated reasoning and content as one chunk.
func FuzzThinkSplitter(f *testing.F) {
	for _, tc := range thinkTests {
		f.Add(tc.in, []byte{3, 1, 4, 1, 5}, tc.start)
	}
	f.Add("<think>\n\n</think>\n\n", []byte{1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1}, false)
	f.Fuzz(func(t *testing.T, in string, cuts []byte, start bool) {
		wantR, wantC := split(t, []string{in}, start)
		var chunks []string
		rest := in
		for _, c := range cuts {
			n := min(int(c), len(rest))
			chunks = append(chunks, rest[:n])
			rest = rest[n:]
		}
		chunks = append(chunks, rest)
		r, c := split(t, chunks, start)
		if r != wantR || c != wantC {
			t.Fatalf("chunks %q: got %q %q, one chunk gives %q %q", chunks, r, c, wantR, wantC)
		}
		if !start && !strings.Contains(in, "<think>") && c != in {
			t.Fatalf("without tags the content must be the input: got %q", c)
		}
	})
}
