// Package factory is the factory SDK for Go plugins (standard Go, GOOS=wasip1,
// componentized by `factory sdk componentize`). It sits beside the bindings
// `factory sdk bindgen --lang go` generates (module `wit_component`) and needs
// a world that imports the host interfaces: tool-with-host or role-plugin.
//
// A tool's export package decodes, runs and encodes with Handle, and turns
// the outcome into its WIT result with Result:
//
//	func Invoke(input string) witTypes.Result[string, ToolError] {
//		return factory.Result(factory.Handle(input, run),
//			MakeToolErrorDenied, MakeToolErrorInvalidInput, MakeToolErrorFailed)
//	}
package factory

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"syscall"

	witTypes "go.bytecodealliance.org/pkg/wit/types"
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
		case KindDenied, KindInvalidInput, KindFailed:
			return e.Kind, e.Message
		default: // a host error with no tool-error case of its own
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

// Outcome is what a handler produced: the JSON output, or an error kind
// (KindDenied, KindInvalidInput, KindFailed) and its message.
type Outcome struct {
	Output  string
	Kind    string
	Message string
}

// Handle decodes input into In (unknown fields are invalid input), runs fn
// and encodes its result.
func Handle[In any, Out any](input string, fn func(In) (Out, error)) Outcome {
	return handle(input, fn, true)
}

// HandleStep is Handle for a role's step: fields In does not declare are
// ignored (the orchestrator may send more than a role reads).
func HandleStep[In any, Out any](input string, fn func(In) (Out, error)) Outcome {
	return handle(input, fn, false)
}

func handle[In any, Out any](input string, fn func(In) (Out, error), strict bool) Outcome {
	var args In
	dec := json.NewDecoder(strings.NewReader(input))
	if strict {
		dec.DisallowUnknownFields()
	}
	if err := dec.Decode(&args); err != nil {
		return Outcome{Kind: KindInvalidInput, Message: "input: " + err.Error()}
	}
	out, err := fn(args)
	if err != nil {
		kind, msg := Classify(err)
		return Outcome{Kind: kind, Message: msg}
	}
	text, err := json.Marshal(out)
	if err != nil {
		return Outcome{Kind: KindFailed, Message: "cannot encode the output: " + err.Error()}
	}
	return Outcome{Output: string(text)}
}

// Result is the export's WIT result for an outcome, given the world's
// error constructors (MakeToolErrorDenied, … or MakeRoleErrorDenied, …).
func Result[E any](o Outcome, denied, invalidInput, failed func(string) E) witTypes.Result[string, E] {
	switch o.Kind {
	case "":
		return witTypes.Ok[string, E](o.Output)
	case KindDenied:
		return witTypes.Err[string](denied(o.Message))
	case KindInvalidInput:
		return witTypes.Err[string](invalidInput(o.Message))
	default:
		return witTypes.Err[string](failed(o.Message))
	}
}

// Schema renders a JSON Schema given as a Go value (for `describe`).
func Schema(v any) string {
	text, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(text)
}
