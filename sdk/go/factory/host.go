package factory

import (
	"encoding/json"

	"wit_component/factory_plugin_exec"
	"wit_component/factory_plugin_kv"
	"wit_component/factory_plugin_log"
	"wit_component/factory_plugin_model"
	"wit_component/factory_plugin_tools"
	"wit_component/factory_plugin_types"

	witTypes "go.bytecodealliance.org/pkg/wit/types"
)

func hostError(code factory_plugin_types.ErrorCode) error {
	switch code.Tag() {
	case factory_plugin_types.ErrorCodeDenied:
		return &Error{KindDenied, code.Denied()}
	case factory_plugin_types.ErrorCodeInvalidInput:
		return &Error{KindInvalidInput, code.InvalidInput()}
	case factory_plugin_types.ErrorCodeNotFound:
		return &Error{KindNotFound, code.NotFound()}
	case factory_plugin_types.ErrorCodeLimitExceeded:
		return &Error{KindLimitExceeded, code.LimitExceeded()}
	default:
		return &Error{KindFailed, code.Failed()}
	}
}

func check[T any](r witTypes.Result[T, factory_plugin_types.ErrorCode]) (T, error) {
	if r.IsErr() {
		var zero T
		return zero, hostError(r.Err())
	}
	return r.Ok(), nil
}

// Logging into the journal (always allowed).
func LogDebug(msg string) { factory_plugin_log.Log(factory_plugin_log.LevelDebug, msg) }
func LogInfo(msg string)  { factory_plugin_log.Log(factory_plugin_log.LevelInfo, msg) }
func LogWarn(msg string)  { factory_plugin_log.Log(factory_plugin_log.LevelWarn, msg) }
func LogError(msg string) { factory_plugin_log.Log(factory_plugin_log.LevelError, msg) }

// KvGet reads the plugin's private key-value store (trust read-only or
// higher); ok is false when the key is absent.
func KvGet(key string) (value []byte, ok bool, err error) {
	v, err := check(factory_plugin_kv.Get(key))
	if err != nil || v.IsNone() {
		return nil, false, err
	}
	return v.Some(), true, nil
}

func KvSet(key string, value []byte) error {
	_, err := check(factory_plugin_kv.Set(key, value))
	return err
}

func KvDelete(key string) (bool, error) { return check(factory_plugin_kv.Delete(key)) }

// CallTool calls another tool (granted with `--tool NAME`), encoding args
// and decoding its output into out (which may be nil).
func CallTool(name string, args any, out any) error {
	in, err := json.Marshal(args)
	if err != nil {
		return err
	}
	text, err := check(factory_plugin_tools.Call(name, string(in)))
	if err != nil || out == nil {
		return err
	}
	return json.Unmarshal([]byte(text), out)
}

// ExecResult is what a program run in the host's sandbox produced.
type ExecResult struct {
	ExitCode  *int32
	Stdout    []byte
	Stderr    []byte
	Truncated bool
	TimedOut  bool
}

// Exec runs a granted program (`--exec PROGRAM`) in the host's sandbox.
func Exec(program string, args []string, cwd string) (ExecResult, error) {
	opt := witTypes.None[string]()
	if cwd != "" {
		opt = witTypes.Some(cwd)
	}
	out, err := check(factory_plugin_exec.Run(factory_plugin_exec.Command{
		Program:   program,
		Args:      args,
		Cwd:       opt,
		Env:       nil,
		Stdin:     witTypes.None[[]uint8](),
		TimeoutMs: witTypes.None[uint32](),
	}))
	if err != nil {
		return ExecResult{}, err
	}
	r := ExecResult{Stdout: out.Stdout, Stderr: out.Stderr, Truncated: out.Truncated, TimedOut: out.TimedOut}
	if out.ExitCode.IsSome() {
		code := out.ExitCode.Some()
		r.ExitCode = &code
	}
	return r, nil
}

// Ask sends one question (with an optional system prompt) to the plugin's
// default model (granted with `--model NAME`) and returns the reply's text.
// For tools, several turns or another model, call
// factory_plugin_model.Complete with a full Request.
func Ask(system, prompt string) (string, error) {
	var msgs []factory_plugin_model.Message
	if system != "" {
		msgs = append(msgs, factory_plugin_model.Message{Role: factory_plugin_model.RoleSystem, Content: system, ToolCallId: witTypes.None[string]()})
	}
	msgs = append(msgs, factory_plugin_model.Message{Role: factory_plugin_model.RoleUser, Content: prompt, ToolCallId: witTypes.None[string]()})
	resp, err := check(factory_plugin_model.Complete(factory_plugin_model.Request{
		Model:       witTypes.None[string](),
		Messages:    msgs,
		MaxTokens:   witTypes.None[uint32](),
		Temperature: witTypes.None[float32](),
	}))
	if err != nil {
		return "", err
	}
	return resp.Message.Content, nil
}
