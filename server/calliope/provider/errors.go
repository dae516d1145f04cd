package provider

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"

	openai "github.com/sashabaranov/go-openai"
)

// FailureKind says why a provider failed, for code that decides what to
// tell the user (start Ollama, check the key) without reading sentences.
type FailureKind string

const (
	FailRefused FailureKind = "refused"  // nothing listens at the base URL
	FailNoHost  FailureKind = "no-host"  // the host name does not resolve
	FailTimeout FailureKind = "timeout"  // no answer in time
	FailHTTP    FailureKind = "http"     // the server answered with an error status (Status)
	FailBroken  FailureKind = "broken"   // the connection or the stream broke
	FailNoModel FailureKind = "no-model" // no chat model configured or listed
	FailOther   FailureKind = "other"    // anything else; Reason says what
)

// CallError is a provider's failure, in words fit for the user: which
// server, and what went wrong ("connection refused", "HTTP 401: Incorrect
// API key provided"). Its text never contains the API key; the underlying
// error (for errors.Is) is reachable with Unwrap but not printed, because
// servers echo request details in error bodies.
type CallError struct {
	Provider string      // "ollama", "openai", or the local server's name
	BaseURL  string      // ends in /v1
	Kind     FailureKind //
	Status   int         // the HTTP status when the server answered, else 0
	Reason   string      // redacted
	Err      error
}

func (e *CallError) Error() string {
	return fmt.Sprintf("%s at %s: %s", e.Provider, e.BaseURL, e.Reason)
}

func (e *CallError) Unwrap() error { return e.Err }

// callError classifies err into a CallError, with key redacted from every
// word taken from the server.
func (p *OpenAICompatible) callError(err error) *CallError {
	ce := &CallError{Provider: p.name, BaseURL: p.baseURL, Err: err}
	ce.Kind, ce.Status, ce.Reason = describe(err, p.apiKey)
	return ce
}

// describe renders a transport or API error as a kind, a status and a
// short reason, with key redacted before anything is shortened (a cut key
// would escape the replacement).
func describe(err error, key string) (FailureKind, int, string) {
	var apiErr *openai.APIError
	var reqErr *openai.RequestError
	var dnsErr *net.DNSError
	var netErr net.Error
	switch {
	case errors.As(err, &apiErr) && apiErr.HTTPStatusCode == 0:
		// An error event inside a stream that began with 200.
		return FailBroken, 0, shorten(redact(apiErr.Message, key))
	case errors.As(err, &apiErr):
		return FailHTTP, apiErr.HTTPStatusCode, httpReason(apiErr.HTTPStatusCode, redact(apiErr.Message, key))
	case errors.As(err, &reqErr):
		return FailHTTP, reqErr.HTTPStatusCode, httpReason(reqErr.HTTPStatusCode, "")
	case errors.Is(err, syscall.ECONNREFUSED):
		return FailRefused, 0, "connection refused"
	case errors.Is(err, syscall.ECONNRESET):
		return FailBroken, 0, "connection reset"
	case errors.Is(err, io.ErrUnexpectedEOF):
		return FailBroken, 0, "the connection closed mid-answer"
	case errors.As(err, &dnsErr):
		return FailNoHost, 0, "no such host " + dnsErr.Name
	case errors.Is(err, context.DeadlineExceeded),
		errors.As(err, &netErr) && netErr.Timeout():
		return FailTimeout, 0, "timed out"
	}
	return FailOther, 0, shorten(redact(err.Error(), key))
}

func httpReason(status int, message string) string {
	s := fmt.Sprintf("HTTP %d", status)
	if message = shorten(message); message != "" {
		s += ": " + message
	}
	return s
}

// shorten keeps a server's message to one readable line.
func shorten(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

// redact removes key from s. OpenAI's own 401 message quotes a masked key;
// other servers may quote it whole.
func redact(s, key string) string {
	if key == "" {
		return s
	}
	return strings.ReplaceAll(s, key, "[redacted]")
}
