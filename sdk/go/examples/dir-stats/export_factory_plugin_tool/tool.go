// dir-stats: how many files and bytes a granted directory holds, by
// extension, and its largest files (Go, GOOS=wasip1).
package export_factory_plugin_tool

import (
	"io/fs"
	"path/filepath"
	"sort"
	"strings"

	"wit_component/factory"
	. "wit_component/factory_plugin_tool"

	witTypes "go.bytecodealliance.org/pkg/wit/types"
)

type args struct {
	Dir     string `json:"dir"`
	Largest int    `json:"largest"`
}

type extStats struct {
	Files int   `json:"files"`
	Bytes int64 `json:"bytes"`
}

type file struct {
	Path  string `json:"path"`
	Bytes int64  `json:"bytes"`
}

type stats struct {
	Dir         string              `json:"dir"`
	Files       int                 `json:"files"`
	Dirs        int                 `json:"dirs"`
	Bytes       int64               `json:"bytes"`
	ByExtension map[string]extStats `json:"by_extension"`
	Largest     []file              `json:"largest"`
}

func run(a args) (stats, error) {
	if a.Dir == "" {
		return stats{}, factory.InvalidInput(`"dir" is required: the absolute path of a granted directory`)
	}
	if a.Largest <= 0 {
		a.Largest = 5
	}
	s := stats{Dir: a.Dir, ByExtension: map[string]extStats{}, Largest: []file{}}
	err := filepath.WalkDir(a.Dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if path != a.Dir {
				s.Dirs++
			}
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(a.Dir, path)
		ext := strings.ToLower(filepath.Ext(path))
		if ext == "" {
			ext = "(none)"
		}
		e := s.ByExtension[ext]
		e.Files++
		e.Bytes += info.Size()
		s.ByExtension[ext] = e
		s.Files++
		s.Bytes += info.Size()
		s.Largest = append(s.Largest, file{rel, info.Size()})
		return nil
	})
	if err != nil {
		return stats{}, err
	}
	sort.SliceStable(s.Largest, func(i, j int) bool {
		if s.Largest[i].Bytes != s.Largest[j].Bytes {
			return s.Largest[i].Bytes > s.Largest[j].Bytes
		}
		return s.Largest[i].Path < s.Largest[j].Path
	})
	if len(s.Largest) > a.Largest {
		s.Largest = s.Largest[:a.Largest]
	}
	factory.LogInfo("walked " + a.Dir)
	return s, nil
}

func Describe() Info {
	return Info{
		Name:        "dir-stats",
		Description: "Count the files, directories and bytes under a granted directory, by extension, with its largest files.",
		InputSchema: factory.Schema(map[string]any{
			"type": "object",
			"properties": map[string]any{
				"dir":     map[string]any{"type": "string"},
				"largest": map[string]any{"type": "integer", "minimum": 1, "default": 5},
			},
			"required":             []string{"dir"},
			"additionalProperties": false,
		}),
	}
}

func Invoke(input string) witTypes.Result[string, ToolError] {
	return factory.Result(factory.Handle(input, run),
		MakeToolErrorDenied, MakeToolErrorInvalidInput, MakeToolErrorFailed)
}
