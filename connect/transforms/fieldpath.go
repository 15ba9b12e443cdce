package transforms

import (
	"strings"

	"github.com/fjordhq/fjord/connect"
)

// fieldSyntaxVersionKey is Kafka's field.syntax.version (KIP-821): V1
// names a field at the top level only; V2 reads dotted paths, with field
// names that contain dots wrapped in backticks: "`foo.bar`.baz".
func fieldSyntaxVersionKey() connect.ConfigKey {
	return connect.ConfigKey{Name: "field.syntax.version", Type: connect.ConfigString, Default: "V1",
		Validator: connect.OneOfIgnoreCase("V1", "V2"), Importance: connect.High,
		Documentation: "Defines the version of the syntax to access fields. " +
			"If set to `V1`, then the field paths are limited to access the elements at the root level of the struct or map. " +
			"If set to `V2`, the syntax will support accessing nested elements. " +
			"To access nested elements, dotted notation is used. " +
			"If dots are already included in the field name, " +
			"then backtick pairs can be used to wrap field names containing dots. " +
			"E.g. to access the subfield `baz` from a field named \"foo.bar\" in a struct/map " +
			"the following format can be used to access its elements: \"`foo.bar`.baz\"."}
}

// fieldPath is a path of field names into nested structs or maps (Kafka's
// SingleFieldPath). It has at least one step, except the empty V2 path,
// which finds nothing.
type fieldPath []string

// parseFieldPath reads a path in the syntax version given (V1 or V2, in
// any case).
func parseFieldPath(path, version string) (fieldPath, error) {
	if strings.EqualFold(version, "V1") {
		return fieldPath{path}, nil
	}
	return parseFieldPathV2(path)
}

// parseFieldPathV2 splits a path at dots. A step that starts with a
// backtick runs to the next backtick that ends the path or is followed by
// a dot, so it may contain dots and other backticks; a backslash before
// such a closing backtick makes it part of the name (the backslash is
// dropped). Backticks inside a step that does not start with one are
// ordinary characters. A path ending in a dot ends with an empty step.
func parseFieldPathV2(path string) (fieldPath, error) {
	steps := fieldPath{}
	i := 0
	for i < len(path) {
		if path[i] != '`' {
			end := strings.IndexByte(path[i:], '.')
			if end < 0 {
				steps = append(steps, path[i:])
				break
			}
			steps = append(steps, path[i:i+end])
			i += end + 1
			continue
		}
		step, next, err := backtickStep(path, i)
		if err != nil {
			return nil, err
		}
		steps = append(steps, step)
		i = next
	}
	if strings.HasSuffix(path, ".") {
		steps = append(steps, "")
	}
	return steps, nil
}

// backtickStep reads the step whose opening backtick is at open and
// returns it and the index after its closing backtick and dot.
func backtickStep(path string, open int) (string, int, error) {
	var name strings.Builder
	start := open + 1
	for i := open + 1; ; i++ {
		end := strings.IndexByte(path[i:], '`')
		if end < 0 {
			return "", 0, incompleteBacktick(path, open)
		}
		i += end
		escaped := path[i-1] == '\\' && i-1 > open
		if i == len(path)-1 {
			if escaped {
				return "", 0, incompleteBacktick(path, open)
			}
			name.WriteString(path[start:i])
			return name.String(), i + 1, nil
		}
		if path[i+1] != '.' {
			continue // a backtick inside the name
		}
		if escaped {
			name.WriteString(path[start : i-1])
			name.WriteByte('`')
			start = i + 1
			continue
		}
		name.WriteString(path[start:i])
		return name.String(), i + 2, nil
	}
}

func incompleteBacktick(path string, at int) error {
	return configError("Incomplete backtick pair in path: [%s], consider adding a backslash before backtick at position %d to escape it", path, at)
}

// field returns the field the path names in schema, if any.
func (p fieldPath) field(schema *connect.Schema) (connect.Field, bool) {
	if len(p) == 0 || schema == nil {
		return connect.Field{}, false
	}
	current := schema
	for _, step := range p[:len(p)-1] {
		f, ok := current.Field(step)
		if !ok {
			return connect.Field{}, false
		}
		current = f.Schema
	}
	return current.Field(p[len(p)-1])
}

// structValue returns the value the path names in s, nil if there is none.
func (p fieldPath) structValue(s *connect.Struct, withDefault bool) (any, error) {
	if len(p) == 0 {
		return nil, nil
	}
	current := s
	for _, step := range p[:len(p)-1] {
		if _, ok := current.Schema().Field(step); !ok {
			return nil, nil
		}
		v := current.Get(step)
		if v == nil {
			return nil, nil
		}
		next, err := requireStruct(v, "nested field access")
		if err != nil {
			return nil, err
		}
		current = next
	}
	last := p[len(p)-1]
	if _, ok := current.Schema().Field(last); !ok {
		return nil, nil
	}
	return fieldValue(current, last, withDefault), nil
}

// mapValue returns the value the path names in a schemaless map, nil if
// there is none.
func (p fieldPath) mapValue(m map[any]any) (any, error) {
	if len(p) == 0 {
		return nil, nil
	}
	current := m
	for _, step := range p[:len(p)-1] {
		v := current[step]
		if v == nil {
			return nil, nil
		}
		next, err := requireMap(v, "nested field access")
		if err != nil {
			return nil, err
		}
		current = next
	}
	return current[p[len(p)-1]], nil
}
