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
			// The error is the connection's (addresses, Go's wording): not for
			// the client.
			writeError(w, http.StatusBadRequest, "invalid_request_error", "", "", "reading the request body failed")
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
// template refuses (raise_exception, invalid messages) is the client's 400
// with the template's words; a template stopped by a render limit or a
// sandbox rule is our 500 with our words; any other failure is a 500 that
// names the model and the template's line, the details going to the log
// only (they may be the Jinja library's, Go's wording included).
func (s *Server) writeTemplateError(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, chat.ErrInvalidMessages) || errors.Is(err, chat.ErrRaised):
		writeError(w, http.StatusBadRequest, "invalid_request_error", "messages", "", "chat template: "+err.Error())
		return
	case errors.Is(err, chat.ErrLimit) || errors.Is(err, chat.ErrSandbox):
		s.log.Warn("chat template stopped", "model", s.modelName(), "err", err)
		writeError(w, http.StatusInternalServerError, "server_error", "", "", fmt.Sprintf("the chat template of model %q: %v", s.modelName(), err))
		return
	}
	s.log.Error("chat template failed", "model", s.modelName(), "err", err)
	msg := fmt.Sprintf("the chat template of model %q failed", s.modelName())
	var te *chat.Error
	if errors.As(err, &te) && te.Line > 0 {
		msg += fmt.Sprintf(" at line %d", te.Line)
	}
	writeError(w, http.StatusInternalServerError, "server_error", "", "", msg+" (the server log has the details)")
}

// modelName returns the served model's name, for error messages that must
// name nothing else (no file path).
func (s *Server) modelName() string {
	if m := s.model.Load(); m != nil {
		return m.Name
	}
	return ""
}

// internalError is the message of a 5xx whose error is logged, not shown:
// it may name files, the model store or Go's internals.
func (s *Server) internalError(what string) string {
	return fmt.Sprintf("internal error %s for model %q (the server log has the details)", what, s.modelName())
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
		s.log.Error("submit failed", "model", s.modelName(), "err", err)
		writeError(w, http.StatusInternalServerError, "server_error", "", "", s.internalError("starting the generation"))
	}
}
