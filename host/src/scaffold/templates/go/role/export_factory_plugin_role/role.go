// {{name}}: a factory role in Go, of kind `reviewer`: it requests changes
// when an added line of the diff has a TODO. The step's input and output
// per role kind are in docs/roles.md of factory; replace `review`.
package export_factory_plugin_role

import (
	"fmt"
	"strings"

	"wit_component/factory"
	. "wit_component/factory_plugin_role"

	witTypes "go.bytecodealliance.org/pkg/wit/types"
)

// The part of the reviewer's input (docs/roles.md) this role reads.
type step struct {
	Diff    *string  `json:"diff"`
	Changed []string `json:"changed"`
}

type check struct {
	Detail string `json:"detail"`
	Name   string `json:"name"`
	Passed bool   `json:"passed"`
}

type review struct {
	Checks   []check `json:"checks"`
	Comments []any   `json:"comments"`
	Summary  string  `json:"summary"`
	Verdict  string  `json:"verdict"`
}

func reviewStep(s step) (review, error) {
	if s.Diff == nil {
		return review{}, factory.InvalidInput("missing `diff` (a unified diff)")
	}
	todos := 0
	for _, line := range strings.Split(*s.Diff, "\n") {
		if strings.HasPrefix(line, "+") && !strings.HasPrefix(line, "+++") && strings.Contains(line, "TODO") {
			todos++
		}
	}
	detail := fmt.Sprintf("added lines with a TODO: %d", todos)
	factory.LogInfo(detail)
	r := review{Checks: []check{{detail, "no-todo", todos == 0}}, Comments: []any{}, Summary: detail, Verdict: "request-changes"}
	if todos == 0 {
		r.Summary, r.Verdict = "no added line has a TODO", "approve"
	}
	return r, nil
}

func Describe() Info {
	return Info{Name: "{{name}}", Kind: "reviewer", Description: "Requests changes when an added line has a TODO."}
}

func Run(input string) witTypes.Result[string, RoleError] {
	return factory.Result(factory.HandleStep(input, reviewStep),
		MakeRoleErrorDenied, MakeRoleErrorInvalidInput, MakeRoleErrorFailed)
}
