package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"

	"github.com/sputnik-llm/sputnik/internal/chat"
	"github.com/sputnik-llm/sputnik/internal/engine"
	"github.com/sputnik-llm/sputnik/internal/server/openai"
)

// writeJSON writes v as the response body.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"error":{"message":"internal error: encoding the response","type":"server_error","param":null,"code":null}}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

// writeError writes OpenAI's error object; empty param and code are null.
func writeError(w http.ResponseWriter, status int, typ, param, code, msg string) {
	writeJSON(w, status, errorBody(typ, param, code, msg))
}

func errorBody(typ, param, code, msg string) openai.ErrorResponse {
	e := openai.ErrorResponse{Error: openai.ErrorObject{Message: msg, Type: typ}}
	if param != "" {
		e.Error.Param = &param
	}
	if code != "" {
		e.Error.Code = &code
	}
	return e
}

// readBody reads the request body up to the limit; on failure it writes
// the error (413 over the limit) and returns nil.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request) []byte {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.MaxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		var ne net.Error
		switch {
		case errors.As(err, &tooBig):
			writeError(w, http.StatusRequestEntityTooLarge, "invalid_request_error", "", "request_too_large",
				fmt.Sprintf("request body is larger than %d bytes", tooBig.Limit))
		case errors.As(err, &ne) && ne.Timeout():
			w.Header().Set("Connection", "close")
			writeError(w, http.StatusRequestTimeout, "invalid_request_error", "", "request_timeout",
				"reading the request body timed out (send it faster)")
		default:
			writeError(w, http.StatusBadRequest, "invalid_request_error", "", "", "reading the request body: "+err.Error())
		}
		return nil
	}
	return body
}

// writeRequestError writes a decode error from package openai as 400.
func writeRequestError(w http.ResponseWriter, err error) {
	var re *openai.RequestError
	if errors.As(err, &re) {
		writeError(w, http.StatusBadRequest, "invalid_request_error", re.Param, "", re.Error())
		return
	}
	writeError(w, http.StatusBadRequest, "invalid_request_error", "", "", err.Error())
}

// writeTemplateError maps a chat template failure: a conversation the
// template refuses (raise_exception, invalid messages) is the client's
// 400; anything else is ours.
func (s *Server) writeTemplateError(w http.ResponseWriter, err error) {
	if errors.Is(err, chat.ErrInvalidMessages) || errors.Is(err, chat.ErrRaised) {
		writeError(w, http.StatusBadRequest, "invalid_request_error", "messages", "", "chat template: "+err.Error())
		return
	}
	s.log.Error("chat template failed", "err", err)
	writeError(w, http.StatusInternalServerError, "server_error", "", "", "chat template: "+err.Error())
}

// writeSubmitError maps the engine's refusals to statuses.
// promptParam names the request field that holds the prompt.
func (s *Server) writeSubmitError(w http.ResponseWriter, err error, promptParam string) {
	switch {
	case errors.Is(err, engine.ErrQueueFull):
		w.Header().Set("Retry-After", strconv.Itoa(int(max(1, s.cfg.RetryAfter.Seconds()))))
		writeError(w, http.StatusTooManyRequests, "rate_limit_error", "", "queue_full", "the server is busy: too many requests are waiting; retry later")
	case errors.Is(err, engine.ErrClosed):
		writeError(w, http.StatusServiceUnavailable, "server_error", "", "shutting_down", "the server is shutting down")
	case errors.Is(err, engine.ErrPromptTooLong):
		writeError(w, http.StatusBadRequest, "invalid_request_error", promptParam, "context_length_exceeded", err.Error())
	case errors.Is(err, engine.ErrInvalid):
		writeError(w, http.StatusBadRequest, "invalid_request_error", "", "", err.Error())
	default:
		s.log.Error("submit failed", "err", err)
		writeError(w, http.StatusInternalServerError, "server_error", "", "", "internal error: "+err.Error())
	}
}
