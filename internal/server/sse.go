package server

import (
	"encoding/json"
	"net/http"
	"time"
)

// sse writes server-sent events, flushing each, with a write deadline so
// that a client that stops reading is dropped instead of holding its
// handler forever.
type sse struct {
	w       http.ResponseWriter
	rc      *http.ResponseController
	timeout time.Duration
}

func (s *Server) startSSE(w http.ResponseWriter) *sse {
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	return &sse{w: w, rc: http.NewResponseController(w), timeout: s.cfg.WriteTimeout}
}

// send writes one "data: JSON" event.
func (e *sse) send(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return e.write(append(append([]byte("data: "), b...), '\n', '\n'))
}

// done writes the final "data: [DONE]" event.
func (e *sse) done() error { return e.write([]byte("data: [DONE]\n\n")) }

func (e *sse) write(b []byte) error {
	e.rc.SetWriteDeadline(time.Now().Add(e.timeout)) // not every writer supports deadlines
	if _, err := e.w.Write(b); err != nil {
		return err
	}
	return e.rc.Flush()
}
