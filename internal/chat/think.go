package chat

import "strings"

const (
	thinkOpen  = "<think>"
	thinkClose = "</think>"
)

// ThinkOptions configure a ThinkSplitter.
type ThinkOptions struct {
	// StartInReasoning says the prompt already opened the <think> block
	// (see EndsInReasoning), so the output starts with reasoning.
	StartInReasoning bool
}

// ThinkSplitter splits a model's streamed output into reasoning (the text of
// a leading <think>…</think> block) and content (the answer), incrementally:
// tags may arrive split across any number of chunks, down to single bytes.
//
// The rules, which make the split of a whole text independent of how it was
// chunked:
//   - Reasoning is the text between "<think>" and "</think>", without the
//     tags, with its leading and trailing ASCII whitespace removed. The block is
//     recognized only at the start of the output (after optional
//     whitespace, which is dropped), or from the first byte when
//     StartInReasoning is set; then a "<think>" repeated by the model at
//     the start is dropped too.
//   - Content is everything else: with a reasoning block, the text after
//     "</think>" with its leading ASCII whitespace removed; without one, the
//     output unchanged. Later "<think>"/"</think>" tags are content.
//   - Output that ends inside the reasoning block (no "</think>") is all
//     reasoning.
//
// Text that could still be the start of a tag, or whitespace that may turn
// out to be trimmed, is held back until the next Push or Flush decides it.
// A ThinkSplitter is not safe for concurrent use.
type ThinkSplitter struct {
	state thinkState
	buf   string // held-back text, not yet emitted
}

type thinkState uint8

const (
	thinkStart          thinkState = iota // before anything but whitespace
	thinkReasoningStart                   // just inside <think>: trim leading space
	thinkReasoning                        // inside <think>
	thinkAnswerStart                      // just after </think>: trim leading space
	thinkContent                          // pass everything through
)

// NewThinkSplitter returns a splitter at the start of a model's output.
func NewThinkSplitter(o ThinkOptions) *ThinkSplitter {
	s := &ThinkSplitter{}
	if o.StartInReasoning {
		s.state = thinkReasoningStart
	}
	return s
}

// InReasoning reports whether the text pushed so far ends inside the
// reasoning block.
func (s *ThinkSplitter) InReasoning() bool {
	return s.state == thinkReasoningStart || s.state == thinkReasoning
}

// Push adds a chunk of output and returns the reasoning and content that
// are now decided, in order (reasoning precedes content within a call).
func (s *ThinkSplitter) Push(chunk string) (reasoning, content string) {
	s.buf += chunk
	return s.process(false)
}

// Flush ends the output and returns everything still held back. The
// splitter is then at the end of output; further pushes pass through as
// content.
func (s *ThinkSplitter) Flush() (reasoning, content string) {
	return s.process(true)
}

func (s *ThinkSplitter) process(final bool) (reasoning, content string) {
	var r, c strings.Builder
	for {
		switch s.state {
		case thinkStart:
			t := strings.TrimLeftFunc(s.buf, isASCIISpace)
			if strings.HasPrefix(t, thinkOpen) {
				s.buf = t[len(thinkOpen):]
				s.state = thinkReasoningStart
				continue
			}
			if !final && strings.HasPrefix(thinkOpen, t) {
				return r.String(), c.String() // whitespace or a partial "<think>"
			}
			s.state = thinkContent

		case thinkReasoningStart:
			t := strings.TrimLeftFunc(s.buf, isASCIISpace)
			if strings.HasPrefix(t, thinkOpen) { // repeated by the model
				s.buf = t[len(thinkOpen):]
				continue
			}
			if t == "" || !final && strings.HasPrefix(thinkOpen, t) {
				s.buf = t
				return r.String(), c.String()
			}
			s.buf = t
			s.state = thinkReasoning

		case thinkReasoning:
			if i := strings.Index(s.buf, thinkClose); i >= 0 {
				r.WriteString(strings.TrimRightFunc(s.buf[:i], isASCIISpace))
				s.buf = s.buf[i+len(thinkClose):]
				s.state = thinkAnswerStart
				continue
			}
			if final {
				r.WriteString(strings.TrimRightFunc(s.buf, isASCIISpace))
				s.buf = ""
				return r.String(), c.String()
			}
			// Hold a possible partial "</think>" and the whitespace before it.
			keep := partialSuffix(s.buf, thinkClose)
			emit := strings.TrimRightFunc(s.buf[:len(s.buf)-keep], isASCIISpace)
			r.WriteString(emit)
			s.buf = s.buf[len(emit):]
			return r.String(), c.String()

		case thinkAnswerStart:
			s.buf = strings.TrimLeftFunc(s.buf, isASCIISpace)
			if s.buf == "" {
				return r.String(), c.String()
			}
			s.state = thinkContent

		case thinkContent:
			c.WriteString(s.buf)
			s.buf = ""
			return r.String(), c.String()
		}
	}
}

// partialSuffix returns the length of the longest proper prefix of tag that
// s ends with.
func partialSuffix(s, tag string) int {
	for n := min(len(s), len(tag)-1); n > 0; n-- {
		if strings.HasSuffix(s, tag[:n]) {
			return n
		}
	}
	return 0
}

// isASCIISpace reports whether r is ASCII whitespace. Only ASCII whitespace
// is trimmed: a multi-byte space split across chunks could not be
// recognized the same way in every chunking.
func isASCIISpace(r rune) bool {
	switch r {
	case ' ', '\t', '\n', '\r', '\v', '\f':
		return true
	}
	return false
}
