// {{name}}: a factory tool in Go. Counts the characters, lines and words of
// a text; replace `run` with what your tool does.
package export_factory_plugin_tool

import (
	"strings"
	"unicode/utf8"

	"wit_component/factory"
	. "wit_component/factory_plugin_tool"

	witTypes "go.bytecodealliance.org/pkg/wit/types"
)

type args struct {
	Text *string `json:"text"`
}

type counts struct {
	Chars int `json:"chars"`
	Lines int `json:"lines"`
	Words int `json:"words"`
}

func run(a args) (counts, error) {
	if a.Text == nil {
		return counts{}, factory.InvalidInput(`expected {"text": "..."}`)
	}
	text := *a.Text
	factory.LogDebug("counting")
	words := strings.FieldsFunc(text, func(r rune) bool { return strings.ContainsRune(" \t\n\r\v\f", r) })
	return counts{
		Chars: utf8.RuneCountInString(text),
		Lines: strings.Count(text, "\n"),
		Words: len(words),
	}, nil
}

func Describe() Info {
	return Info{
		Name:        "{{name}}",
		Description: "Count the characters, lines and words of a text.",
		InputSchema: `{"type":"object","properties":{"text":{"type":"string"}},"required":["text"],"additionalProperties":false}`,
	}
}

func Invoke(input string) witTypes.Result[string, ToolError] {
	return factory.Result(factory.Handle(input, run),
		MakeToolErrorDenied, MakeToolErrorInvalidInput, MakeToolErrorFailed)
}
