package sample

import "strings"

// StopMatcher finds stop strings in text that arrives in pieces (one decoded
// token at a time) and says how much of it is safe to show. Text that could
// still be the start of a stop string is held back until the next piece
// decides it, so a stop string is never shown, even when it spans pieces.
//
// When several stop strings occur, the one that is complete earliest in the
// text wins (the longest among those completing at the same byte), so the
// result does not depend on how the text was cut into pieces. Matching is on
// bytes; pieces should be whole UTF-8, as the tokenizer's streaming decoder
// yields them. A StopMatcher is not safe for concurrent use.
type StopMatcher struct {
	stops   []string
	held    string // received, not yet emitted: the longest suffix that is a proper prefix of a stop string
	matched string
	done    bool
}

// NewStopMatcher returns a matcher for stops. Empty strings are ignored; with
// no stop strings every piece is emitted as it comes. The slice is copied.
func NewStopMatcher(stops []string) *StopMatcher {
	m := &StopMatcher{}
	for _, s := range stops {
		if s != "" {
			m.stops = append(m.stops, s)
		}
	}
	return m
}

// Push feeds the next piece of text. It returns the text that may be shown
// now and whether a stop string has completed. On the call that completes
// one, emit is the text before the stop string and generation should end;
// later calls return "", true until Reset.
func (m *StopMatcher) Push(piece string) (emit string, stopped bool) {
	if m.done {
		return "", true
	}
	if len(m.stops) == 0 {
		return piece, false
	}
	text := m.held + piece
	bestStart, bestEnd := -1, -1
	for _, s := range m.stops {
		i := strings.Index(text, s)
		if i < 0 {
			continue
		}
		end := i + len(s)
		if bestEnd < 0 || end < bestEnd || (end == bestEnd && i < bestStart) {
			bestStart, bestEnd, m.matched = i, end, s
		}
	}
	if bestEnd >= 0 {
		m.done, m.held = true, ""
		return text[:bestStart], true
	}
	h := m.holdLen(text)
	m.held = text[len(text)-h:]
	return text[:len(text)-h], false
}

// holdLen returns the length of the longest suffix of text that is a proper
// prefix of some stop string.
func (m *StopMatcher) holdLen(text string) int {
	best := 0
	for _, s := range m.stops {
		for l := min(len(s)-1, len(text)); l > best; l-- {
			if strings.HasSuffix(text, s[:l]) {
				best = l
				break
			}
		}
	}
	return best
}

// Flush returns the text still held back, for when generation ends without
// a stop string (end of generation token, token limit), and clears it.
// After a stop string it returns "".
func (m *StopMatcher) Flush() string {
	h := m.held
	m.held = ""
	return h
}

// Held returns the text received but not yet emitted.
func (m *StopMatcher) Held() string { return m.held }

// Matched returns the stop string that ended the text, or "" if none has.
func (m *StopMatcher) Matched() string { return m.matched }

// Reset forgets all text and any match, keeping the stop strings.
func (m *StopMatcher) Reset() { m.held, m.matched, m.done = "", "", false }
