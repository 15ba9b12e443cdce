package connect

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Record is what a transformation or a predicate sees of a SourceRecord or
// SinkRecord (Kafka's ConnectRecord): the fields every record has. Get it
// with SourceRecord.Record or SinkRecord.Record, and put a transformed one
// back with WithRecord, which keeps the fields that transformations cannot
// change (source partition and offset; a sink record's offset, timestamp
// type and original coordinates).
type Record struct {
	Topic string
	// Partition is the Kafka partition; nil lets the producer choose (for
	// source records only: a sink record always has one).
	Partition *int32

	KeySchema   *Schema
	Key         any
	ValueSchema *Schema
	Value       any

	// Timestamp is the record's timestamp; the zero time is Kafka's null.
	Timestamp time.Time
	Headers   Headers

	// Offset is the Kafka offset of a sink record, nil for a source record
	// (transformations that need a SinkRecord, as InsertField's
	// offset.field, tell them apart by it). It is read-only: WithRecord
	// keeps the sink record's own offset.
	Offset *int64
}

// Record returns what transformations see of r. The record shares r's
// values, schemas and headers, which transformations must not modify.
func (r SourceRecord) Record() Record {
	return Record{
		Topic: r.Topic, Partition: r.Partition,
		KeySchema: r.KeySchema, Key: r.Key, ValueSchema: r.ValueSchema, Value: r.Value,
		Timestamp: r.Timestamp, Headers: r.Headers,
	}
}

// WithRecord returns r with the topic, partition, key, value, timestamp
// and headers of t, keeping its source partition and offset.
func (r SourceRecord) WithRecord(t Record) SourceRecord {
	r.Topic, r.Partition = t.Topic, t.Partition
	r.KeySchema, r.Key, r.ValueSchema, r.Value = t.KeySchema, t.Key, t.ValueSchema, t.Value
	r.Timestamp, r.Headers = t.Timestamp, t.Headers
	return r
}

// Record returns what transformations see of r, with its offset.
func (r SinkRecord) Record() Record {
	partition, offset := r.Partition, r.Offset
	return Record{
		Topic: r.Topic, Partition: &partition,
		KeySchema: r.KeySchema, Key: r.Key, ValueSchema: r.ValueSchema, Value: r.Value,
		Timestamp: r.Timestamp, Headers: r.Headers, Offset: &offset,
	}
}

// WithRecord returns r with the topic, partition, key, value, timestamp
// and headers of t, keeping its offset, timestamp type and original topic,
// partition and offset. A nil Partition keeps r's partition.
func (r SinkRecord) WithRecord(t Record) SinkRecord {
	r.Topic = t.Topic
	if t.Partition != nil {
		r.Partition = *t.Partition
	}
	r.KeySchema, r.Key, r.ValueSchema, r.Value = t.KeySchema, t.Key, t.ValueSchema, t.Value
	r.Timestamp, r.Headers = t.Timestamp, t.Headers
	return r
}

// Transformation is a single message transform (Kafka's Transformation):
// it changes a record, or drops it, on its way from a source task to Kafka
// or from Kafka to a sink task. A connector configuration lists them under
// "transforms"; the worker makes them with the Registry (NewChain).
//
// The worker makes one instance for each task and calls it from the task's
// goroutine, one call at a time, so an implementation may keep caches
// without locks. Config may be called on a fresh instance that is never
// configured.
type Transformation interface {
	// Config defines the transformation's own configuration keys, which the
	// worker validates under the prefix "transforms.<alias>.".
	Config() *ConfigDef
	// Configure sets the transformation up with its configuration, the
	// connector's keys under its prefix with the prefix removed (including
	// "type", without "predicate" and "negate").
	Configure(config map[string]string) error
	// Apply returns the transformed record and true, or false to drop the
	// record. It must not modify anything reachable from record (Structs,
	// maps, slices, Headers): it builds new values instead. An error wraps
	// ErrInvalidData when the record does not fit the transformation (the
	// worker's errors.tolerance may then skip it).
	Apply(record Record) (out Record, keep bool, err error)
	// Close releases what Configure took.
	Close() error
}

// Predicate is a condition on records that decides whether a
// transformation applies (Kafka's Predicate, KIP-585). A connector
// configuration lists them under "predicates" and names one in
// "transforms.<alias>.predicate". Calls are made as for a Transformation.
type Predicate interface {
	// Config defines the predicate's configuration keys, validated under
	// the prefix "predicates.<alias>.".
	Config() *ConfigDef
	// Configure sets the predicate up with its configuration, the keys
	// under its prefix with the prefix removed (including "type").
	Configure(config map[string]string) error
	// Test reports whether record satisfies the predicate.
	Test(record Record) bool
	// Close releases what Configure took.
	Close() error
}

// Versioned is implemented by transformations and predicates that report a
// version in GET /connector-plugins (Kafka's Versioned).
type Versioned interface {
	Version() string
}

// TransformError is the error of one stage of a Chain: the transformation
// that failed on a record, named as the connector configuration names it,
// for the worker's error reporting (Kafka's stage TRANSFORMATION and its
// executing class).
type TransformError struct {
	Alias string // the alias in "transforms"
	Class string // the transformation's class name
	Err   error
}

func (e *TransformError) Error() string {
	return fmt.Sprintf("connect: transformation %s (%s): %v", e.Alias, e.Class, e.Err)
}

func (e *TransformError) Unwrap() error { return e.Err }

// ConfigError is a problem with one key of a connector configuration, as
// NewChain reports them: Key is the full key ("transforms.route.regex"),
// Message is in Kafka's words, ready for the errors of the key's
// ConfigValue. It wraps ErrInvalidConfig.
type ConfigError struct {
	Key     string
	Message string
}

func (e *ConfigError) Error() string { return "connect: " + e.Key + ": " + e.Message }

func (e *ConfigError) Unwrap() error { return ErrInvalidConfig }

// configErrors turns the problems of a validation into one error: a
// *ConfigError, or several joined with errors.Join; nil if none.
func configErrors(values []ConfigValue) error {
	var errs []error
	for _, v := range values {
		for _, msg := range v.Errors {
			errs = append(errs, &ConfigError{Key: v.Name, Message: msg})
		}
	}
	if len(errs) == 1 {
		return errs[0]
	}
	return errors.Join(errs...)
}

// stage is one transformation of a chain with its optional predicate.
type stage struct {
	alias, class string
	transform    Transformation
	predicate    Predicate
	negate       bool
}

// Chain is a connector's transformations in the order of its "transforms"
// configuration, each applied where its predicate says so (Kafka's
// TransformationChain). Make one per task with Registry.NewChain; like its
// transformations, it is used from one goroutine at a time.
type Chain struct {
	stages []stage
}

// Len returns the number of transformations in the chain.
func (c *Chain) Len() int { return len(c.stages) }

// Apply runs record through the transformations in order: a stage whose
// predicate (negated if so configured) is false passes the record on
// unchanged, and a transformation that drops the record ends the chain.
// It returns the record and true, or false when it was dropped. An error
// is a *TransformError naming the stage that failed.
func (c *Chain) Apply(record Record) (Record, bool, error) {
	for _, s := range c.stages {
		if s.predicate != nil && s.predicate.Test(record) == s.negate {
			continue
		}
		out, keep, err := s.transform.Apply(record)
		if err != nil {
			return Record{}, false, &TransformError{Alias: s.alias, Class: s.class, Err: err}
		}
		if !keep {
			return Record{}, false, nil
		}
		record = out
	}
	return record, true, nil
}

// ApplySource runs a source record through the chain (see Apply).
func (c *Chain) ApplySource(r SourceRecord) (SourceRecord, bool, error) {
	out, keep, err := c.Apply(r.Record())
	if err != nil || !keep {
		return SourceRecord{}, false, err
	}
	return r.WithRecord(out), true, nil
}

// ApplySink runs a sink record through the chain (see Apply).
func (c *Chain) ApplySink(r SinkRecord) (SinkRecord, bool, error) {
	out, keep, err := c.Apply(r.Record())
	if err != nil || !keep {
		return SinkRecord{}, false, err
	}
	return r.WithRecord(out), true, nil
}

// Close closes every transformation and predicate, and returns their
// errors joined.
func (c *Chain) Close() error {
	var errs []error
	for _, s := range c.stages {
		if err := s.transform.Close(); err != nil {
			errs = append(errs, fmt.Errorf("connect: close transformation %s: %w", s.alias, err))
		}
		if s.predicate != nil {
			if err := s.predicate.Close(); err != nil {
				errs = append(errs, fmt.Errorf("connect: close predicate of transformation %s: %w", s.alias, err))
			}
		}
	}
	c.stages = nil
	return errors.Join(errs...)
}

// The plugin types of transformations and predicates, as GET
// /connector-plugins?connectorsOnly=false names them.
const (
	PluginTransformation PluginType = "transformation"
	PluginPredicate      PluginType = "predicate"
)

// TransformationPlugin is a transformation compiled into the worker: a
// class name in Kafka's style, which users put in "transforms.<alias>.type",
// and a factory.
type TransformationPlugin struct {
	// Class is the full name, such as
	// "org.apache.kafka.connect.transforms.InsertField$Value".
	Class string
	// Aliases are other names that find the plugin. Register adds Kafka's
	// automatic ones: the simple name (after the last dot or dollar sign)
	// and that name without a "Transformation" suffix. An alias that
	// several transformations share finds none, so "Value" finds no
	// InsertField$Value once other $Value classes are registered, as in
	// Kafka.
	Aliases []string
	// New returns a new, unconfigured transformation. It must be cheap and
	// have no side effects.
	New func() Transformation
	// Version is filled in by RegisterTransformation from an instance that
	// implements Versioned.
	Version string
}

// PredicatePlugin is a predicate compiled into the worker, as
// TransformationPlugin is for transformations; the automatic aliases drop
// a "Predicate" suffix.
type PredicatePlugin struct {
	Class   string
	Aliases []string
	New     func() Predicate
	Version string
}

// pluginSet holds plugins of one kind by class and alias. Kinds have their
// own alias spaces: a name in "transforms.a.type" can only mean a
// transformation, so a connector of the same simple name makes no alias
// ambiguous (Kafka computes aliases over all plugins at once).
type pluginSet[P any] struct {
	byClass map[string]P
	infos   map[string]PluginInfo
	byAlias map[string][]string
}

func (s *pluginSet[P]) add(info PluginInfo, aliases []string, p P) error {
	if s.byClass == nil {
		s.byClass, s.infos, s.byAlias = map[string]P{}, map[string]PluginInfo{}, map[string][]string{}
	}
	if _, dup := s.byClass[info.Class]; dup {
		return fmt.Errorf("connect: register %s %s: already registered", info.Type, info.Class)
	}
	for _, a := range aliases {
		if _, clash := s.byClass[a]; clash {
			return fmt.Errorf("connect: register %s %s: alias %s is the class of another plugin", info.Type, info.Class, a)
		}
	}
	s.byClass[info.Class], s.infos[info.Class] = p, info
	for _, a := range aliases {
		s.byAlias[a] = append(s.byAlias[a], info.Class)
	}
	return nil
}

func (s *pluginSet[P]) lookup(kind PluginType, name string) (P, error) {
	if p, ok := s.byClass[name]; ok {
		return p, nil
	}
	var zero P
	switch classes := s.byAlias[name]; len(classes) {
	case 0:
		return zero, fmt.Errorf("%w: no %s plugin has class or alias %q", ErrUnknownPlugin, kind, name)
	case 1:
		return s.byClass[classes[0]], nil
	default:
		return zero, fmt.Errorf("%w: alias %q names several %s plugins (%s): use the class name",
			ErrUnknownPlugin, name, kind, strings.Join(classes, ", "))
	}
}

func (s *pluginSet[P]) list() []PluginInfo {
	out := make([]PluginInfo, 0, len(s.infos))
	for _, info := range s.infos {
		out = append(out, info)
	}
	slices.SortFunc(out, func(a, b PluginInfo) int { return cmp.Compare(a.Class, b.Class) })
	return out
}

// componentAliases returns explicit aliases and Kafka's automatic ones for
// a transformation or predicate class: Java's simple name (after the last
// dot, and after the last dollar sign for nested classes) and that name
// pruned of the suffix (at its last occurrence, if not at the start).
func componentAliases(class string, explicit []string, suffix string) []string {
	simple := class[strings.LastIndexAny(class, ".$")+1:]
	all := append(slices.Clone(explicit), simple)
	if i := strings.LastIndex(simple, suffix); i > 0 {
		all = append(all, simple[:i])
	}
	var out []string
	for _, a := range all {
		if a != "" && a != class && !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	return out
}

func versionOf(v any) string {
	if vv, ok := v.(Versioned); ok {
		return vv.Version()
	}
	return ""
}

// RegisterTransformation adds a transformation. It makes one instance with
// New to learn its version and check that Config returns a definition.
func (r *Registry) RegisterTransformation(p TransformationPlugin) error {
	if p.Class == "" || p.New == nil {
		return fmt.Errorf("connect: register transformation %q: a class name and a New function are required", p.Class)
	}
	probe := p.New()
	if probe == nil || probe.Config() == nil {
		return fmt.Errorf("connect: register transformation %s: New must return a transformation whose Config is not nil", p.Class)
	}
	p.Version = versionOf(probe)
	p.Aliases = componentAliases(p.Class, p.Aliases, "Transformation")
	r.mu.Lock()
	defer r.mu.Unlock()
	info := PluginInfo{Class: p.Class, Type: PluginTransformation, Version: p.Version}
	return r.mu.transformations.add(info, p.Aliases, p)
}

// RegisterPredicate adds a predicate, as RegisterTransformation does.
func (r *Registry) RegisterPredicate(p PredicatePlugin) error {
	if p.Class == "" || p.New == nil {
		return fmt.Errorf("connect: register predicate %q: a class name and a New function are required", p.Class)
	}
	probe := p.New()
	if probe == nil || probe.Config() == nil {
		return fmt.Errorf("connect: register predicate %s: New must return a predicate whose Config is not nil", p.Class)
	}
	p.Version = versionOf(probe)
	p.Aliases = componentAliases(p.Class, p.Aliases, "Predicate")
	r.mu.Lock()
	defer r.mu.Unlock()
	info := PluginInfo{Class: p.Class, Type: PluginPredicate, Version: p.Version}
	return r.mu.predicates.add(info, p.Aliases, p)
}

// LookupTransformation finds a transformation by class name or alias, as
// "transforms.<alias>.type" and GET /connector-plugins/{plugin}/config
// name it.
func (r *Registry) LookupTransformation(nameOrAlias string) (TransformationPlugin, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.mu.transformations.lookup(PluginTransformation, nameOrAlias)
}

// LookupPredicate finds a predicate by class name or alias.
func (r *Registry) LookupPredicate(nameOrAlias string) (PredicatePlugin, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.mu.predicates.lookup(PluginPredicate, nameOrAlias)
}

// Transformations lists the registered transformations, sorted by class.
// GET /connector-plugins?connectorsOnly=false lists Plugins, then these,
// then Predicates, then the converters, as Kafka orders them.
func (r *Registry) Transformations() []PluginInfo {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.mu.transformations.list()
}

// Predicates lists the registered predicates, sorted by class.
func (r *Registry) Predicates() []PluginInfo {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.mu.predicates.list()
}

// The keys of a connector configuration that set up its transformations
// and predicates (Kafka's ConnectorConfig): "transforms" and "predicates"
// list aliases; each transformation alias a has "transforms.a.type", its
// own keys under "transforms.a.", and the optional "transforms.a.predicate"
// (a predicate alias) and "transforms.a.negate"; each predicate alias p has
// "predicates.p.type" and its own keys under "predicates.p.".
const (
	TransformsConfig         = "transforms"
	PredicatesConfig         = "predicates"
	TransformPredicateConfig = "predicate"
	TransformNegateConfig    = "negate"
	// The groups of those keys in a validation answer; each alias has a
	// group of its own, such as "Transforms: route".
	TransformsGroup = "Transforms"
	PredicatesGroup = "Predicates"
)

// uniqueAliases refuses an alias list with duplicates.
func uniqueAliases() Validator {
	return ValidatorFunc(func(_ string, value any) error {
		aliases, ok := value.([]string)
		if !ok {
			return errors.New("Value must be non-null")
		}
		for i, a := range aliases {
			if slices.Contains(aliases[:i], a) {
				return errors.New("Duplicate alias provided.")
			}
		}
		return nil
	})
}

// aliasList parses the alias list of key, without duplicates; nil if unset.
func aliasList(props map[string]string, key string) []string {
	raw, ok := props[key]
	if !ok {
		return nil
	}
	parsed, err := parseType(key, raw, ConfigList)
	if err != nil {
		return nil
	}
	var out []string
	for _, a := range parsed.([]string) {
		if !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	return out
}

// defineIfAbsent defines key unless a key of that name exists, as a
// transformation's own "predicate", "negate" or "type" keys are masked by
// the stage's keys of those names in Kafka.
func defineIfAbsent(def *ConfigDef, key ConfigKey) {
	if _, ok := def.Key(key.Name); !ok {
		def.Define(key)
	}
}

// EnrichConfigDef returns base with the keys that props's transformations
// and predicates add to it (Kafka's ConnectorConfig.enrich): "transforms"
// and "predicates" if base lacks them, and for each alias listed its type,
// its predicate and negate keys, and the keys of the plugin it names under
// its prefix, in a group of its own. A worker validates a connector
// configuration against the result (ConfigDef.Validate), so that each
// problem is reported on its key. base is not modified; nil is empty.
func (r *Registry) EnrichConfigDef(base *ConfigDef, props map[string]string) *ConfigDef {
	def := NewConfigDef()
	if base != nil {
		for _, k := range base.Keys() {
			def.Define(k)
		}
	}
	defineIfAbsent(def, ConfigKey{Name: TransformsConfig, Type: ConfigList, Default: []string{},
		Validator: uniqueAliases(), Importance: Low, Documentation: "Aliases for the transformations to be applied to records.",
		Group: TransformsGroup, OrderInGroup: 1, Width: WidthLong, DisplayName: "Transforms"})
	defineIfAbsent(def, ConfigKey{Name: PredicatesConfig, Type: ConfigList, Default: []string{},
		Validator: uniqueAliases(), Importance: Low, Documentation: "Aliases for the predicates used by transformations.",
		Group: PredicatesGroup, OrderInGroup: 1, Width: WidthLong, DisplayName: "Predicates"})
	predicates := aliasList(props, PredicatesConfig)
	for _, alias := range aliasList(props, TransformsConfig) {
		r.enrichTransformation(def, alias, props, predicates)
	}
	for _, alias := range predicates {
		r.enrichPredicate(def, alias, props)
	}
	return def
}

func (r *Registry) enrichTransformation(def *ConfigDef, alias string, props map[string]string, predicates []string) {
	prefix := TransformsConfig + "." + alias + "."
	group := TransformsGroup + ": " + alias
	typeKey, predicateKey, negateKey := prefix+"type", prefix+TransformPredicateConfig, prefix+TransformNegateConfig
	typeValidator := ValidatorFunc(func(_ string, value any) error {
		_, hasNegate := props[negateKey]
		if _, hasPredicate := props[predicateKey]; hasNegate && !hasPredicate {
			return fmt.Errorf("Config '%s' was provided but there is no config '%s' defining a predicate to be negated.",
				negateKey, predicateKey)
		}
		class, _ := value.(string)
		if value == nil {
			return nil
		}
		if _, err := r.LookupTransformation(class); err != nil {
			return r.classError(class, "Transformation")
		}
		return nil
	})
	predicateValidator := ValidatorFunc(func(_ string, value any) error {
		if p, ok := value.(string); ok && !slices.Contains(predicates, p) {
			return fmt.Errorf("No predicate has alias %s in %s", p, PredicatesConfig)
		}
		return nil
	})
	defineIfAbsent(def, ConfigKey{Name: typeKey, Type: ConfigClass, Required: true, Validator: typeValidator,
		Importance: High, Documentation: "Class for the '" + alias + "' transformation.", Group: group, OrderInGroup: 1,
		Width: WidthLong, DisplayName: "Transformation type for " + alias,
		Recommender: classRecommender(r.Transformations)})
	defineIfAbsent(def, ConfigKey{Name: predicateKey, Type: ConfigString, Validator: predicateValidator,
		Importance: Medium, Documentation: "The alias of a predicate used to determine whether to apply this transformation.",
		Group: group, OrderInGroup: 2})
	defineIfAbsent(def, ConfigKey{Name: negateKey, Type: ConfigBoolean, Default: false, Importance: Medium,
		Documentation: "Whether the configured predicate should be negated.", Group: group, OrderInGroup: 3})
	if plugin, err := r.LookupTransformation(strings.TrimSpace(props[typeKey])); err == nil {
		embed(def, prefix, group, 4, plugin.New().Config())
	}
}

func (r *Registry) enrichPredicate(def *ConfigDef, alias string, props map[string]string) {
	prefix := PredicatesConfig + "." + alias + "."
	group := PredicatesGroup + ": " + alias
	typeValidator := ValidatorFunc(func(_ string, value any) error {
		class, ok := value.(string)
		if !ok {
			return nil
		}
		if _, err := r.LookupPredicate(class); err != nil {
			return r.classError(class, "Predicate")
		}
		return nil
	})
	defineIfAbsent(def, ConfigKey{Name: prefix + "type", Type: ConfigClass, Required: true, Validator: typeValidator,
		Importance: High, Documentation: "Class for the '" + alias + "' predicate.", Group: group, OrderInGroup: 1,
		Width: WidthLong, DisplayName: "Predicate type for " + alias, Recommender: classRecommender(r.Predicates)})
	if plugin, err := r.LookupPredicate(strings.TrimSpace(props[prefix+"type"])); err == nil {
		embed(def, prefix, group, 2, plugin.New().Config())
	}
}

// classError is Kafka's message for a type key naming no plugin of the
// kind: "Not a Transformation" for a plugin of another kind.
func (r *Registry) classError(class, kind string) error {
	_, connectorErr := r.Lookup(class)
	_, transformErr := r.LookupTransformation(class)
	_, predicateErr := r.LookupPredicate(class)
	if connectorErr == nil || transformErr == nil || predicateErr == nil {
		return errors.New("Not a " + kind)
	}
	return fmt.Errorf("Class %s could not be found.", class)
}

// classRecommender recommends the classes of the registered plugins of a
// kind for a type key, as Kafka's ClassRecommender.
type classRecommender func() []PluginInfo

func (c classRecommender) ValidValues(string, map[string]any) ([]any, error) {
	infos := c()
	out := make([]any, len(infos))
	for i, info := range infos {
		out[i] = info.Class
	}
	return out, nil
}

func (c classRecommender) Visible(string, map[string]any) (bool, error) { return true, nil }

// embed defines child's keys in def under prefix and in group, numbered
// from order (Kafka's ConfigDef.embed). Validators and recommenders see
// the names and values as the child defines them, without the prefix.
func embed(def *ConfigDef, prefix, group string, order int, child *ConfigDef) {
	if child == nil {
		return
	}
	for _, k := range child.Keys() {
		if k.Name == TransformPredicateConfig || k.Name == TransformNegateConfig {
			continue
		}
		k.Name, k.Group, k.OrderInGroup = prefix+k.Name, group, order
		order++
		dependents := make([]string, len(k.Dependents))
		for i, d := range k.Dependents {
			dependents[i] = prefix + d
		}
		k.Dependents = dependents
		if v := k.Validator; v != nil {
			k.Validator = ValidatorFunc(func(name string, value any) error {
				return v.Validate(strings.TrimPrefix(name, prefix), value)
			})
		}
		if rec := k.Recommender; rec != nil {
			k.Recommender = prefixedRecommender{prefix: prefix, inner: rec}
		}
		defineIfAbsent(def, k)
	}
}

// prefixedRecommender hands an embedded key's recommender the names and
// parsed values without the prefix.
type prefixedRecommender struct {
	prefix string
	inner  Recommender
}

func (p prefixedRecommender) unprefixed(parsed map[string]any) map[string]any {
	out := make(map[string]any, len(parsed))
	for k, v := range parsed {
		if rest, ok := strings.CutPrefix(k, p.prefix); ok {
			out[rest] = v
		}
	}
	return out
}

func (p prefixedRecommender) ValidValues(name string, parsed map[string]any) ([]any, error) {
	return p.inner.ValidValues(strings.TrimPrefix(name, p.prefix), p.unprefixed(parsed))
}

func (p prefixedRecommender) Visible(name string, parsed map[string]any) (bool, error) {
	return p.inner.Visible(strings.TrimPrefix(name, p.prefix), p.unprefixed(parsed))
}

// withPrefix returns the entries of config under prefix, without it
// (Kafka's originalsWithPrefix).
func withPrefix(config map[string]string, prefix string) map[string]string {
	out := map[string]string{}
	for k, v := range config {
		if rest, ok := strings.CutPrefix(k, prefix); ok {
			out[rest] = v
		}
	}
	return out
}

// NewChain builds the transformation chain of a connector configuration as
// Kafka's ConnectorConfig.transformationStages does: a new instance of each
// transformation listed in "transforms", in order, configured with its
// keys, and of its predicate, if it names one. The configuration is first
// validated against EnrichConfigDef(nil, config); the error is then a
// *ConfigError per problem (joined with errors.Join when several), each
// naming its key. A transformation or predicate whose Configure fails is
// reported on its type key. A configuration without "transforms" gives an
// empty chain.
func (r *Registry) NewChain(config map[string]string) (*Chain, error) {
	values := r.EnrichConfigDef(nil, config).Validate(config)
	if err := configErrors(values); err != nil {
		return nil, err
	}
	parsed := make(map[string]any, len(values))
	for _, v := range values {
		parsed[v.Name] = v.Value
	}
	aliases, _ := parsed[TransformsConfig].([]string)
	chain := &Chain{stages: make([]stage, 0, len(aliases))}
	for _, alias := range aliases {
		s, err := r.newStage(alias, config, parsed)
		if err != nil {
			_ = chain.Close()
			return nil, err
		}
		chain.stages = append(chain.stages, s)
	}
	return chain, nil
}

// newStage makes and configures one transformation and its predicate from
// a validated configuration.
func (r *Registry) newStage(alias string, config map[string]string, parsed map[string]any) (stage, error) {
	prefix := TransformsConfig + "." + alias + "."
	class, _ := parsed[prefix+"type"].(string)
	plugin, err := r.LookupTransformation(class)
	if err != nil {
		return stage{}, &ConfigError{Key: prefix + "type", Message: err.Error()}
	}
	own := withPrefix(config, prefix)
	delete(own, TransformPredicateConfig)
	delete(own, TransformNegateConfig)
	s := stage{alias: alias, class: plugin.Class, transform: plugin.New()}
	if err := s.transform.Configure(own); err != nil {
		return stage{}, &ConfigError{Key: prefix + "type", Message: err.Error()}
	}
	predicateAlias, ok := parsed[prefix+TransformPredicateConfig].(string)
	if !ok {
		return s, nil
	}
	predicatePrefix := PredicatesConfig + "." + predicateAlias + "."
	predicateClass, _ := parsed[predicatePrefix+"type"].(string)
	pp, err := r.LookupPredicate(predicateClass)
	if err == nil {
		s.predicate = pp.New()
		err = s.predicate.Configure(withPrefix(config, predicatePrefix))
	}
	if err != nil {
		_ = s.transform.Close()
		return stage{}, &ConfigError{Key: predicatePrefix + "type", Message: err.Error()}
	}
	s.negate, _ = parsed[prefix+TransformNegateConfig].(bool)
	return s, nil
}
