// Package factory is the factory SDK for Go plugins (standard Go, GOOS=wasip1,
// componentized by `factory sdk componentize`). It sits beside the bindings
// `factory sdk bindgen --lang go` generates (module `wit_component`) and needs
// a world that imports the host interfaces: tool-with-host or role-plugin.
//
// A tool's export package calls Handle:
//
//	func Invoke(input string) witTypes.Result[string, factory_plugin_tool.ToolError] {
//		return factory.ToolResult(factory.Handle(input, run))
//	}
package factory

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"syscall"
)

// Error kinds: the cases of the WIT `tool-error` / `role-error` (denied,
// invalid-input, failed) and of the host's `error-code` (also not-found,
// limit-exceeded).
const (
	KindDenied        = "denied"
	KindInvalidInput  = "invalid-input"
	KindNotFound      = "not-found"
	KindLimitExceeded = "limit-exceeded"
	KindFailed        = "failed"
)

// Error is a failure with its WIT kind.
type Error struct {
	Kind    string
	Message string
}

func (e *Error) Error() string { return e.Kind + ": " + e.Message }

// InvalidInput, Denied and Failed make errors of that kind.
func InvalidInput(format string, args ...any) error {
	return &Error{KindInvalidInput, fmt.Sprintf(format, args...)}
}
func Denied(format string, args ...any) error { return &Error{KindDenied, fmt.Sprintf(format, args...)} }
func Failed(format string, args ...any) error { return &Error{KindFailed, fmt.Sprintf(format, args...)} }

// Classify maps any error to (kind, message) for a tool or role error:
// a host refusal or a permission error from the filesystem is denied.
func Classify(err error) (string, string) {
	var e *Error
	if errors.As(err, &e) {
		switch e.Kind {
		case KindDenied, KindInvalidInput:
			return e.Kind, e.Message
		default:
			if e.Kind == KindFailed {
				return KindFailed, e.Message
			}
			return KindFailed, e.Kind + ": " + e.Message
		}
	}
	if errors.Is(err, fs.ErrPermission) || errors.Is(err, syscall.ENOTCAPABLE) {
		return KindDenied, err.Error()
	}
	if errors.Is(err, fs.ErrNotExist) {
		return KindInvalidInput, err.Error()
	}
	return KindFailed, err.Error()
}

// Handle decodes input into In (unknown fields are invalid input), runs fn
// and encodes its result. On failure it returns ("", kind, message).
func Handle[In any, Out any](input string, fn func(In) (Out, error)) (string, string, string) {
	return handle(input, fn, true)
}

// HandleStep is Handle for a role's step: fields In does not declare are
// ignored (the orchestrator may send more than a role reads).
func HandleStep[In any, Out any](input string, fn func(In) (Out, error)) (string, string, string) {
	return handle(input, fn, false)
}

func handle[In any, Out any](input string, fn func(In) (Out, error), strict bool) (string, string, string) {
	var args In
	dec := json.NewDecoder(strings.NewReader(input))
	if strict {
		dec.DisallowUnknownFields()
	}
	if err := dec.Decode(&args); err != nil {
		return "", KindInvalidInput, "input: " + err.Error()
	}
	out, err := fn(args)
	if err != nil {
		kind, msg := Classify(err)
		return "", kind, msg
	}
	text, err := json.Marshal(out)
	if err != nil {
		return "", KindFailed, "cannot encode the output: " + err.Error()
	}
	return string(text), "", ""
}

// Schema renders a JSON Schema given as a Go value (for `describe`).
func Schema(v any) string {
	text, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(text)
}
