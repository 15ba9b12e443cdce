package connect

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/fjordhq/fjord/connect/internal/javafmt"
)

// ConfigValue is the result of validating one key (Kafka's ConfigValue):
// its parsed value (nil when unset or invalid), the values its Recommender
// suggests, the problems found, and whether a UI should show it.
type ConfigValue struct {
	Name              string
	Value             any
	RecommendedValues []any
	Errors            []string
	Visible           bool
}

// Validate checks props against the definition key by key, as Kafka's
// ConfigDef.validate does for PUT /connector-plugins/{type}/config/validate:
// unlike Parse it goes on past problems and reports them per key. The
// result has one ConfigValue per defined key, in definition order, then one
// per dependent that is not defined. Keys are parsed parents first (a key
// before its Dependents); recommenders run once every key is parsed.
func (d *ConfigDef) Validate(props map[string]string) []ConfigValue {
	results := make([]ConfigValue, len(d.keys), len(d.keys)+1)
	for i, k := range d.keys {
		results[i] = ConfigValue{Name: k.Name, Visible: true}
	}
	for _, name := range d.undefinedDependents() {
		results = append(results, ConfigValue{
			Name:    name,
			Errors:  []string{name + " is referred in the dependents, but not defined."},
			Visible: false,
		})
	}
	order := d.validationOrder()
	parsed := make(map[string]any, len(d.keys))
	for _, i := range order {
		k := d.keys[i]
		results[i].Value, results[i].Errors = parseForValidate(k, props)
		parsed[k.Name] = results[i].Value
	}
	for _, i := range order {
		if r := d.keys[i].Recommender; r != nil {
			recommend(r, &results[i], parsed)
		}
	}
	return results
}

// parseForValidate parses one key, reporting problems instead of stopping
// at them: the validator runs even on a missing value, as in Kafka.
func parseForValidate(k ConfigKey, props map[string]string) (any, []string) {
	var value any
	var problems []string
	if raw, set := props[k.Name]; set {
		v, err := parseType(k.Name, raw, k.Type)
		if err != nil {
			problems = append(problems, err.Error())
		}
		value = v
	} else if k.Required {
		problems = append(problems, missingError(k.Name))
	} else {
		value = k.Default
	}
	if k.Validator != nil {
		if err := k.Validator.Validate(k.Name, value); err != nil {
			problems = append(problems, configError(k.Name, value, err.Error()).Error())
		}
	}
	return value, problems
}

func recommend(r Recommender, result *ConfigValue, parsed map[string]any) {
	values, err := r.ValidValues(result.Name, parsed)
	if err != nil {
		result.Errors = append(result.Errors, err.Error())
		return
	}
	result.RecommendedValues = values
	visible, err := r.Visible(result.Name, parsed)
	if err != nil {
		result.Errors = append(result.Errors, err.Error())
		return
	}
	result.Visible = visible
}

// validationOrder lists key indexes parents first: each key that no other
// key names as a dependent, followed depth first by its dependents, then
// any key left (keys that only depend on each other). Each key appears
// once, so that cycles terminate.
func (d *ConfigDef) validationOrder() []int {
	hasParent := map[string]bool{}
	for _, k := range d.keys {
		for _, dep := range k.Dependents {
			hasParent[dep] = true
		}
	}
	seen := make([]bool, len(d.keys))
	order := make([]int, 0, len(d.keys))
	var visit func(i int)
	visit = func(i int) {
		if seen[i] {
			return
		}
		seen[i] = true
		order = append(order, i)
		for _, dep := range d.keys[i].Dependents {
			if j, ok := d.index[dep]; ok {
				visit(j)
			}
		}
	}
	for i, k := range d.keys {
		if !hasParent[k.Name] {
			visit(i)
		}
	}
	for i := range d.keys {
		visit(i)
	}
	return order
}

// ConfigInfos is the answer of PUT /connector-plugins/{type}/config/validate
// and of a connector creation that fails validation, with Kafka Connect's
// JSON field names and order.
type ConfigInfos struct {
	Name       string       `json:"name"`
	ErrorCount int          `json:"error_count"`
	Groups     []string     `json:"groups"`
	Configs    []ConfigInfo `json:"configs"`
}

// ConfigInfo is one key of a ConfigInfos: its definition (null for a value
// of a key that is not defined) and its validation result (null if none).
type ConfigInfo struct {
	Definition *ConfigKeyInfo   `json:"definition"`
	Value      *ConfigValueInfo `json:"value"`
}

// ConfigKeyInfo is a key's definition as Kafka Connect's REST API shows it.
// Note that Kafka names the order in group "order", and writes it last.
type ConfigKeyInfo struct {
	Name          string   `json:"name"`
	Type          string   `json:"type"`
	Required      bool     `json:"required"`
	DefaultValue  *string  `json:"default_value"`
	Importance    string   `json:"importance"`
	Documentation string   `json:"documentation"`
	Group         *string  `json:"group"`
	Width         string   `json:"width"`
	DisplayName   string   `json:"display_name"`
	Dependents    []string `json:"dependents"`
	Order         int      `json:"order"`
}

// ConfigValueInfo is a key's validation result as the REST API shows it:
// values as strings, passwords as [hidden].
type ConfigValueInfo struct {
	Name              string   `json:"name"`
	Value             *string  `json:"value"`
	RecommendedValues []string `json:"recommended_values"`
	Errors            []string `json:"errors"`
	Visible           bool     `json:"visible"`
}

// NewConfigInfos builds the REST answer for a validation (Kafka's
// AbstractHerder.generateResult): name is the connector class, def the
// definition validated (a worker merges its own connector keys into it
// first), values what Validate returned. Values of keys that def does not
// define come first, then every key of def in order.
func NewConfigInfos(name string, def *ConfigDef, values []ConfigValue) ConfigInfos {
	infos := ConfigInfos{Name: name, Groups: def.Groups(), Configs: []ConfigInfo{}}
	if infos.Groups == nil {
		infos.Groups = []string{}
	}
	byName := make(map[string]ConfigValue, len(values))
	for _, v := range values {
		byName[v.Name] = v
		if _, defined := def.index[v.Name]; !defined {
			infos.Configs = append(infos.Configs, ConfigInfo{Value: valueInfo(v)})
			infos.ErrorCount += len(v.Errors)
		}
	}
	for _, k := range def.keys {
		info := ConfigInfo{Definition: keyInfo(k)}
		if v, ok := byName[k.Name]; ok {
			info.Value = valueInfo(v)
			infos.ErrorCount += len(v.Errors)
		}
		infos.Configs = append(infos.Configs, info)
	}
	return infos
}

func keyInfo(k ConfigKey) *ConfigKeyInfo {
	info := &ConfigKeyInfo{
		Name:          k.Name,
		Type:          k.Type.String(),
		Required:      k.Required,
		DefaultValue:  restString(k.Default),
		Importance:    k.Importance.String(),
		Documentation: k.Documentation,
		Width:         k.Width.String(),
		DisplayName:   k.DisplayName,
		Dependents:    append([]string{}, k.Dependents...),
		Order:         k.OrderInGroup,
	}
	if k.Group != "" {
		info.Group = &k.Group
	}
	if info.Order == 0 {
		info.Order = -1
	}
	return info
}

func valueInfo(v ConfigValue) *ConfigValueInfo {
	info := &ConfigValueInfo{
		Name:              v.Name,
		Value:             restString(v.Value),
		RecommendedValues: make([]string, 0, len(v.RecommendedValues)),
		Errors:            append([]string{}, v.Errors...),
		Visible:           v.Visible,
	}
	for _, r := range v.RecommendedValues {
		if s := restString(r); s != nil {
			info.RecommendedValues = append(info.RecommendedValues, *s)
		}
	}
	return info
}

// restString is Kafka's ConfigDef.convertToString: nil stays null, lists
// join with commas, doubles print as Java does, passwords as [hidden].
func restString(v any) *string {
	var s string
	switch v := v.(type) {
	case nil:
		return nil
	case string:
		s = v
	case []string:
		s = strings.Join(v, ",")
	case float64:
		s = javafmt.Double(v)
	case int64:
		s = strconv.FormatInt(v, 10)
	default:
		s = fmt.Sprint(v)
	}
	return &s
}
