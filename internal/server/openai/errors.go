package openai

import "fmt"

// RequestError is a request the server refuses with 400: Param names the
// offending field as the client wrote it ("messages[2].role", "stop[1]"),
// or is empty when the problem is the body as a whole; Msg says what is
// wrong.
type RequestError struct {
	Param string
	Msg   string
}

func (e *RequestError) Error() string {
	if e.Param == "" {
		return e.Msg
	}
	return e.Param + ": " + e.Msg
}

func invalid(param, format string, args ...any) *RequestError {
	return &RequestError{Param: param, Msg: fmt.Sprintf(format, args...)}
}

// ErrorResponse is OpenAI's error body: {"error": {...}}.
type ErrorResponse struct {
	Error ErrorObject `json:"error"`
}

// ErrorObject describes one failed request. Type is the class of error
// ("invalid_request_error", "authentication_error", "server_error", …);
// Param names the offending request field, Code is a machine-readable
// reason ("invalid_api_key", "model_not_found", …); both may be null.
type ErrorObject struct {
	Message string  `json:"message"`
	Type    string  `json:"type"`
	Param   *string `json:"param"`
	Code    *string `json:"code"`
}
