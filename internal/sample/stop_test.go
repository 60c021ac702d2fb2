package sample

import (
	"math/rand/v2"
	"strings"
	"testing"
)

// referenceStop finds, in the whole text, the stop string that completes
// first (longest among those completing at the same byte) and returns the
// text before it.
func referenceStop(stops []string, text string) (emit, matched string, stopped bool) {
	bestStart, bestEnd := -1, -1
	for _, s := range stops {
		if s == "" {
			continue
		}
		i := strings.Index(text, s)
		if i < 0 {
			continue
		}
		if end := i + len(s); bestEnd < 0 || end < bestEnd || (end == bestEnd && i < bestStart) {
			bestStart, bestEnd, matched = i, end, s
		}
	}
	if bestEnd < 0 {
		return text, "", false
	}
	return text[:bestStart], matched, true
}

// longestHold is the longest suffix of text that is a proper prefix of a stop.
func longestHold(stops []string, text string) string {
	best := ""
	for _, s := range stops {
		for l := 1; l < len(s) && l <= len(text); l++ {
			if strings.HasSuffix(text, s[:l]) && l > len(best) {
				best = s[:l]
			}
		}
	}
	return best
}

// runStop feeds pieces to a matcher, checking after every piece that exactly
// the undecidable suffix is held back, and returns everything emitted.
func runStop(t *testing.T, stops, pieces []string) (string, bool, string) {
	t.Helper()
	m := NewStopMatcher(stops)
	var out strings.Builder
	fed := ""
	for _, p := range pieces {
		fed += p
		emit, stopped := m.Push(p)
		out.WriteString(emit)
		if stopped {
			return out.String(), true, m.Matched()
		}
		if want := longestHold(stops, fed); m.Held() != want {
			t.Fatalf("pieces %q: after %q held %q, want %q", pieces, fed, m.Held(), want)
		}
		if out.String()+m.Held() != fed {
			t.Fatalf("pieces %q: emitted %q + held %q != fed %q", pieces, out.String(), m.Held(), fed)
		}
	}
	out.WriteString(m.Flush())
	return out.String(), false, ""
}

// chunkings returns adversarial ways to cut text: whole, byte by byte, every
// cut into two and three pieces (for short texts), with empty pieces, and
// random cuts.
func chunkings(text string, r *rand.Rand) [][]string {
	out := [][]string{{text}, {"", text, ""}}
	var bytes []string
	for i := range len(text) {
		bytes = append(bytes, text[i:i+1])
	}
	out = append(out, bytes)
	for i := 0; i <= len(text); i++ {
		out = append(out, []string{text[:i], text[i:]})
		if len(text) <= 24 {
			for j := i; j <= len(text); j++ {
				out = append(out, []string{text[:i], text[i:j], text[j:]})
			}
		}
	}
	for range 20 {
		var pieces []string
		for rest := text; rest != ""; {
			n := min(len(rest), r.IntN(5))
			pieces = append(pieces, rest[:n])
			rest = rest[n:]
		}
		out = append(out, pieces)
	}
	return out
}

func TestStopMatcher(t *testing.T) {
	tests := []struct {
		name    string
		stops   []string
		text    string
		emit    string
		matched string // "" when no stop string occurs
	}{
		{"no stops", nil, "hello world", "hello world", ""},
		{"empty stop ignored", []string{""}, "hello", "hello", ""},
		{"simple", []string{"STOP"}, "abc STOP def", "abc ", "STOP"},
		{"at start", []string{"<|end|>"}, "<|end|>tail", "", "<|end|>"},
		{"at end", []string{"</s>"}, "hi</s>", "hi", "</s>"},
		{"prefix at end is flushed", []string{"</s>"}, "hi</", "hi</", ""},
		{"false start then match", []string{"ab"}, "aab", "a", "ab"},
		{"self-overlap", []string{"aaab"}, "aaaab", "a", "aaab"},
		{"self-overlap miss", []string{"abab"}, "abacababx", "abac", "abab"},
		{"repeated prefix", []string{"xxy"}, "xxxxxxy!", "xxxx", "xxy"},
		{"earliest completion wins", []string{"abcd", "bc"}, "abcd", "a", "bc"},
		{"same end, longest wins", []string{"bc", "abc"}, "zabc", "z", "abc"},
		{"two stops, second earlier", []string{"world", "lo"}, "hello world", "hel", "lo"},
		{"multibyte", []string{"。", "</think>"}, "想一想</think>答案。", "想一想", "</think>"},
		{"multibyte prefix held then not", []string{"。"}, "a、b", "a、b", ""},
		{"newline pair", []string{"\n\n"}, "line1\nline2\n\nline3", "line1\nline2", "\n\n"},
		{"duplicate stops", []string{"x", "x"}, "abxc", "ab", "x"},
		{"stop longer than text", []string{"abcdef"}, "abc", "abc", ""},
		{"text is a stop", []string{"abc"}, "abc", "", "abc"},
	}
	r := rand.New(rand.NewPCG(13, 13))
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			emit, matched, stopped := referenceStop(tc.stops, tc.text)
			if emit != tc.emit || matched != tc.matched || stopped != (tc.matched != "") {
				t.Fatalf("reference = %q %q %v, want %q %q", emit, matched, stopped, tc.emit, tc.matched)
			}
			for _, pieces := range chunkings(tc.text, r) {
				got, gotStopped, gotMatched := runStop(t, tc.stops, pieces)
				if got != tc.emit || gotStopped != (tc.matched != "") || gotMatched != tc.matched {
					t.Fatalf("pieces %q: emitted %q stopped=%v matched %q, want %q %q", pieces, got, gotStopped, gotMatched, tc.emit, tc.matched)
				}
			}
		})
	}
}

func TestStopMatcherAfterStop(t *testing.T) {
	m := NewStopMatcher([]string{"##"})
	if e, s := m.Push("a#"); e != "a" || s {
		t.Fatalf("Push(a#) = %q %v", e, s)
	}
	if e, s := m.Push("#b"); e != "" || !s {
		t.Fatalf("Push(#b) = %q %v, want \"\" true", e, s)
	}
	if e, s := m.Push("more"); e != "" || !s {
		t.Fatalf("Push after stop = %q %v, want \"\" true", e, s)
	}
	if f := m.Flush(); f != "" {
		t.Fatalf("Flush after stop = %q", f)
	}
	m.Reset()
	if e, s := m.Push("x#"); e != "x" || s || m.Matched() != "" {
		t.Fatalf("after Reset: Push(x#) = %q %v matched %q", e, s, m.Matched())
	}
}

// FuzzStopMatcher: any text, stops and chunking emit what the whole-text
// reference says, and hold back no more than necessary.
func FuzzStopMatcher(f *testing.F) {
	f.Add("hello world", "lo", "wor", uint64(1))
	f.Add("aaaab", "aaab", "", uint64(2))
	f.Add("</th</think>x", "</think>", "<", uint64(3))
	f.Fuzz(func(t *testing.T, text, stop1, stop2 string, seed uint64) {
		if len(text) > 512 || len(stop1) > 32 || len(stop2) > 32 {
			return
		}
		stops := []string{stop1, stop2}
		r := rand.New(rand.NewPCG(seed, 0))
		var pieces []string
		for rest := text; rest != ""; {
			n := min(len(rest), r.IntN(6))
			pieces = append(pieces, rest[:n])
			rest = rest[n:]
		}
		got, stopped, matched := runStop(t, stops, pieces)
		wantEmit, wantMatched, wantStopped := referenceStop(stops, text)
		if got != wantEmit || stopped != wantStopped || matched != wantMatched {
			t.Fatalf("pieces %q stops %q: got %q %v %q, want %q %v %q", pieces, stops, got, stopped, matched, wantEmit, wantStopped, wantMatched)
		}
	})
}
