package tokenizer

// PreTokenize returns the pieces of text that byte-level BPE merges work
// within, in order, exactly as Encode cuts them: special tokens are found
// first (control and unknown-type ones only when parseSpecial is set,
// user-defined ones always) and left out, each run of text between them is
// normalized if the vocabulary normalizes, and a BPE vocabulary's
// pre-tokenizer splits every run into pieces. For SPM and WordPiece
// vocabularies each run between special tokens is one piece. A BPE
// tokenizer's merges never cross the boundary between two pieces, which is
// what a BPE trainer needs to know (see internal/train/vocab). The result is
// a new slice of substrings of text (or of its normalized form), owned by
// the caller.
func (t *Tokenizer) PreTokenize(text string, parseSpecial bool) []string {
	st := t.state()
	defer t.states.Put(st)

	var out []string
	st.frags = t.special.partition(st.frags[:0], text, parseSpecial)
	for _, f := range st.frags {
		if f.id >= 0 {
			continue
		}
		s := text[f.start:f.end]
		if t.normalize != nil {
			s = t.normalize(s)
		}
		if t.kind != kindBPE {
			out = append(out, s)
			continue
		}
		for _, p := range t.pre.apply(s, span{0, len(s)}, st) {
			if p.end > p.start {
				out = append(out, s[p.start:p.end])
			}
		}
	}
	return out
}
