package runtime

import (
	"fmt"
	"maps"
	"strconv"
	"strings"

	"github.com/fjordhq/fjord/connect"
	"github.com/fjordhq/fjord/connect/converters"
)

// Connector configuration keys the worker reads itself (Kafka's
// ConnectorConfig, SinkConnectorConfig and SourceConnectorConfig).
const (
	keyName            = "name"
	keyConnectorClass  = "connector.class"
	keyTasksMax        = "tasks.max"
	keyTransforms      = "transforms"
	keyPredicates      = "predicates"
	keyTopics          = "topics"
	keyTopicsRegex     = "topics.regex"
	keyErrorsTolerance = "errors.tolerance"
	keyRetryTimeout    = "errors.retry.timeout"
	keyRetryDelayMax   = "errors.retry.delay.max.ms"
	keyErrorsLog       = "errors.log.enable"
	keyErrorsLogMsgs   = "errors.log.include.messages"
	keyDLQTopic        = "errors.deadletterqueue.topic.name"
	keyDLQRF           = "errors.deadletterqueue.topic.replication.factor"
	keyDLQHeaders      = "errors.deadletterqueue.context.headers.enable"
	keyExactlyOnce     = "exactly.once.support"
	keyTxnBoundary     = "transaction.boundary"
)

// Kafka's groups of the connector keys, as the validate answer lists them.
const (
	groupCommon     = "Common"
	groupTransforms = "Transforms"
	groupPredicates = "Predicates"
	groupErrors     = "Error Handling"
	groupExactly    = "Exactly Once Support"
)

// commonConnectorDef is what every connector's configuration has, whatever
// the connector: Kafka's ConnectorConfig, plus the sink or source keys.
func commonConnectorDef(typ connect.PluginType) *connect.ConfigDef {
	d := connect.NewConfigDef()
	order := 0
	common := func(k connect.ConfigKey) {
		order++
		k.Group, k.OrderInGroup = groupCommon, order
		if k.Importance == 0 {
			k.Importance = connect.High
		}
		d.Define(k)
	}
	common(connect.ConfigKey{Name: keyName, Type: connect.ConfigString, Required: true, Validator: connect.NonEmptyString(),
		Documentation: "Globally unique name to use for this connector.", Width: connect.WidthMedium, DisplayName: "Connector name"})
	common(connect.ConfigKey{Name: keyConnectorClass, Type: connect.ConfigString, Required: true,
		Documentation: "Name or alias of the class for this connector.", Width: connect.WidthLong, DisplayName: "Connector class"})
	common(connect.ConfigKey{Name: keyTasksMax, Type: connect.ConfigInt, Default: 1, Validator: connect.AtLeast(1),
		Documentation: "Maximum number of tasks to use for this connector.", Width: connect.WidthShort, DisplayName: "Tasks max"})
	for _, k := range []string{"key.converter", "value.converter", "header.converter"} {
		common(connect.ConfigKey{Name: k, Type: connect.ConfigString, Importance: connect.Low, Width: connect.WidthShort,
			Documentation: "The " + strings.TrimSuffix(k, ".converter") + " converter; the worker's when unset."})
	}
	if typ == connect.PluginSink {
		common(connect.ConfigKey{Name: keyTopics, Type: connect.ConfigList, Default: "", Width: connect.WidthLong,
			Documentation: "List of topics to consume, separated by commas."})
		common(connect.ConfigKey{Name: keyTopicsRegex, Type: connect.ConfigString, Default: "", Width: connect.WidthLong,
			Documentation: "Regular expression giving topics to consume."})
	}
	d.Define(connect.ConfigKey{Name: keyTransforms, Type: connect.ConfigList, Default: "", Importance: connect.Low, Group: groupTransforms,
		OrderInGroup: 1, Documentation: "Aliases for the transformations to be applied to records."})
	d.Define(connect.ConfigKey{Name: keyPredicates, Type: connect.ConfigList, Default: "", Importance: connect.Low, Group: groupPredicates,
		OrderInGroup: 1, Documentation: "Aliases for the predicates used by transformations."})
	defineErrorKeys(d, typ)
	if typ == connect.PluginSource {
		d.Define(connect.ConfigKey{Name: keyExactlyOnce, Type: connect.ConfigString, Default: "requested", Importance: connect.Medium,
			Group: groupExactly, OrderInGroup: 1, Validator: connect.OneOfIgnoreCase("requested", "required"),
			Documentation: "Whether exactly-once delivery is required of this connector."})
		d.Define(connect.ConfigKey{Name: keyTxnBoundary, Type: connect.ConfigString, Default: "poll", Importance: connect.Medium,
			Group: groupExactly, OrderInGroup: 2, Validator: connect.OneOfIgnoreCase("poll", "interval", "connector"),
			Documentation: "How records are grouped in transactions when exactly-once source support is enabled."})
	}
	return d
}

func defineErrorKeys(d *connect.ConfigDef, typ connect.PluginType) {
	order := 0
	def := func(k connect.ConfigKey) {
		order++
		k.Group, k.OrderInGroup, k.Importance = groupErrors, order, connect.Medium
		d.Define(k)
	}
	def(connect.ConfigKey{Name: keyRetryTimeout, Type: connect.ConfigLong, Default: 0,
		Documentation: "How long a failed operation is retried, in milliseconds; 0 for no retries, -1 for ever."})
	def(connect.ConfigKey{Name: keyRetryDelayMax, Type: connect.ConfigLong, Default: 60000, Validator: connect.AtLeast(0),
		Documentation: "The longest wait between retries, in milliseconds."})
	def(connect.ConfigKey{Name: keyErrorsTolerance, Type: connect.ConfigString, Default: "none", Validator: connect.OneOfIgnoreCase("none", "all"),
		Documentation: "none fails the task on an error; all skips the record."})
	def(connect.ConfigKey{Name: keyErrorsLog, Type: connect.ConfigBoolean, Default: false, Documentation: "Log each error."})
	def(connect.ConfigKey{Name: keyErrorsLogMsgs, Type: connect.ConfigBoolean, Default: false, Documentation: "Log the failed records too."})
	if typ != connect.PluginSink {
		return
	}
	def(connect.ConfigKey{Name: keyDLQTopic, Type: connect.ConfigString, Default: "",
		Documentation: "The topic that records this sink cannot write go to."})
	def(connect.ConfigKey{Name: keyDLQRF, Type: connect.ConfigShort, Default: 3, Validator: connect.AtLeast(-1),
		Documentation: "Replication factor of the dead letter queue topic when it is created."})
	def(connect.ConfigKey{Name: keyDLQHeaders, Type: connect.ConfigBoolean, Default: false,
		Documentation: "Add headers saying what failed to records in the dead letter queue."})
}

// validateConnectorConfig validates config as Kafka's AbstractHerder does:
// the common keys and the connector's own, merged in one answer, then the
// connector's own checks (ConnectorValidator), and the sink's topics.
func validateConnectorConfig(reg *connect.Registry, config map[string]string, exactlyOnce bool) (connect.ConfigInfos, connect.PluginType, error) {
	class := config[keyConnectorClass]
	if class == "" {
		def := commonConnectorDef("")
		return connect.NewConfigInfos("", def, def.Validate(config)), "", nil
	}
	plugin, err := reg.Lookup(class)
	if err != nil {
		def := commonConnectorDef("")
		values := def.Validate(config)
		for i := range values {
			if values[i].Name == keyConnectorClass {
				values[i].Errors = append(values[i].Errors, fmt.Sprintf("Invalid value %s for configuration %s: Class %s could not be found.", class, keyConnectorClass, class))
			}
		}
		return connect.NewConfigInfos(class, def, values), "", nil
	}
	conn := plugin.New()
	// The common keys, with those of the transformations and predicates
	// the configuration names, each reported on its own key.
	common := reg.EnrichConfigDef(commonConnectorDef(plugin.Type), config)
	def := reg.EnrichConfigDef(commonConnectorDef(plugin.Type), config)
	for _, k := range conn.Config().Keys() {
		if _, ok := def.Key(k.Name); !ok {
			def.Define(k)
		}
	}
	var values []connect.ConfigValue
	if v, ok := conn.(connect.ConnectorValidator); ok {
		values = mergeValues(common.Validate(config), v.Validate(config))
	} else {
		values = def.Validate(config)
	}
	if plugin.Type == connect.PluginSink {
		checkSinkTopics(config, values)
	}
	if plugin.Type == connect.PluginSource && exactlyOnce {
		checkExactlyOnce(conn, config, values)
	}
	return connect.NewConfigInfos(plugin.Class, def, values), plugin.Type, nil
}

// checkExactlyOnce is KIP-618's preflight check, on a worker with
// exactly.once.source.support=enabled: a connector configured with
// exactly.once.support=required must say it supports exactly-once, and one
// with transaction.boundary=connector that it defines boundaries.
func checkExactlyOnce(conn connect.Connector, config map[string]string, values []connect.ConfigValue) {
	fail := func(key, message string) {
		for i := range values {
			if values[i].Name == key {
				values[i].Errors = append(values[i].Errors, message)
			}
		}
	}
	if strings.EqualFold(config[keyExactlyOnce], "required") {
		s, ok := conn.(connect.ExactlyOnceSupporter)
		switch {
		case !ok:
			fail(keyExactlyOnce, "The connector does not implement the API required for preflight validation of exactly-once "+
				"source support. Please consult the documentation for the connector to determine whether it supports exactly-once "+
				"semantics, and then consider reconfiguring the connector to use the value \"requested\" for this property (which "+
				"will disable this preflight check and allow the connector to be created).")
		case s.ExactlyOnceSupport(config) != connect.Supported:
			fail(keyExactlyOnce, "The connector does not support exactly-once semantics with the provided configuration.")
		}
	}
	if strings.EqualFold(config[keyTxnBoundary], "connector") {
		if d, ok := conn.(connect.TransactionBoundaryDefiner); !ok || d.CanDefineTransactionBoundaries(config) != connect.Supported {
			fail(keyTxnBoundary, "The connector does not support connector-defined transaction boundaries with the given "+
				"configuration. Please reconfigure it to use a different transaction boundary definition.")
		}
	}
}

// mergeValues adds the connector's values to the common ones.
func mergeValues(common, own []connect.ConfigValue) []connect.ConfigValue {
	seen := map[string]bool{}
	for _, v := range common {
		seen[v.Name] = true
	}
	for _, v := range own {
		if !seen[v.Name] {
			common = append(common, v)
		}
	}
	return common
}

// checkSinkTopics requires exactly one of topics and topics.regex, as
// Kafka's SinkConnectorConfig.validate does.
func checkSinkTopics(config map[string]string, values []connect.ConfigValue) {
	topics, regex := strings.TrimSpace(config[keyTopics]), strings.TrimSpace(config[keyTopicsRegex])
	var msg string
	switch {
	case topics != "" && regex != "":
		msg = "topics and topics.regex are mutually exclusive options, but both are set."
	case topics == "" && regex == "":
		msg = "Must configure one of topics or topics.regex"
	default:
		return
	}
	for i := range values {
		if values[i].Name == keyTopics || values[i].Name == keyTopicsRegex {
			values[i].Errors = append(values[i].Errors, msg)
		}
	}
}

// tasksMax reads tasks.max of a validated configuration.
func tasksMax(config map[string]string) int {
	n, err := strconv.Atoi(strings.TrimSpace(config[keyTasksMax]))
	if err != nil || n < 1 {
		return 1
	}
	return n
}

// newConverter makes and configures the converter a class names, with the
// properties under prefix ("key.converter.") of props.
func newConverter(class string, props map[string]string, prefix string, isKey bool) (connect.Converter, error) {
	var c connect.Converter
	switch class {
	case converters.JSONConverterClass, "JsonConverter":
		c = &converters.JSONConverter{}
	case converters.StringConverterClass, "StringConverter":
		c = &converters.StringConverter{}
	case converters.ByteArrayConverterClass, "ByteArrayConverter":
		c = &converters.ByteArrayConverter{}
	default:
		return nil, fmt.Errorf("%w: converter class %q is not known (JsonConverter, StringConverter and ByteArrayConverter are)", connect.ErrInvalidConfig, class)
	}
	if err := c.Configure(subProps(props, prefix), isKey); err != nil {
		return nil, fmt.Errorf("%s: %w", strings.TrimSuffix(prefix, "."), err)
	}
	return c, nil
}

// newHeaderConverter makes the header converter, Kafka's default
// SimpleHeaderConverter when none is named.
func newHeaderConverter(class string, props map[string]string) (connect.HeaderConverter, error) {
	var c connect.HeaderConverter
	switch class {
	case "", converters.SimpleHeaderConverterClass, "SimpleHeaderConverter":
		c = &converters.SimpleHeaderConverter{}
	case converters.StringConverterClass, "StringConverter":
		c = &converters.StringConverter{}
	case converters.JSONConverterClass, "JsonConverter":
		c = &converters.JSONConverter{}
	case converters.ByteArrayConverterClass, "ByteArrayConverter":
		c = &converters.ByteArrayConverter{}
	default:
		return nil, fmt.Errorf("%w: header converter class %q is not known", connect.ErrInvalidConfig, class)
	}
	if err := c.ConfigureHeaders(subProps(props, "header.converter.")); err != nil {
		return nil, fmt.Errorf("header.converter: %w", err)
	}
	return c, nil
}

// subProps returns the properties under prefix, with it removed.
func subProps(props map[string]string, prefix string) map[string]string {
	out := map[string]string{}
	for k, v := range props {
		if rest, ok := strings.CutPrefix(k, prefix); ok {
			out[rest] = v
		}
	}
	return out
}

// connectorConverters makes a connector's converters: its own
// key.converter and the like, else the worker's, each with its prefixed
// properties from the connector's configuration over the worker's.
func connectorConverters(worker *WorkerConfig, config map[string]string) (recordConverters, error) {
	props := maps.Clone(worker.Props)
	maps.Copy(props, config)
	pick := func(key, def string) string {
		if v := strings.TrimSpace(config[key]); v != "" {
			return v
		}
		return def
	}
	var rc recordConverters
	var err error
	if rc.key, err = newConverter(pick("key.converter", worker.KeyConverter), props, "key.converter.", true); err != nil {
		return rc, err
	}
	if rc.value, err = newConverter(pick("value.converter", worker.ValueConverter), props, "value.converter.", false); err != nil {
		return rc, err
	}
	rc.header, err = newHeaderConverter(pick("header.converter", worker.HeaderConverter), props)
	return rc, err
}
