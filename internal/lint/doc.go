// Package lint holds no code: its test enforces, within `go test ./...`,
// the rules of STYLE.md that a compiler does not: sizes of files and
// functions, time taken from injected clocks, and files reached through
// the vfs on the data path. A rule that must bend names its exceptions
// here, with the reason.
package lint
