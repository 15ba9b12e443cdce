package metadata

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/fjordhq/fjord/internal/config"
)

// OpType is an IncrementalAlterConfigs operation, numbered as on the wire.
type OpType int8

// The operations of IncrementalAlterConfigs.
const (
	OpSet      OpType = 0
	OpDelete   OpType = 1
	OpAppend   OpType = 2
	OpSubtract OpType = 3
)

// ConfigOp is one config change.
type ConfigOp struct {
	Name  string
	Op    OpType
	Value string
}

// alterConfigsLocal applies IncrementalAlterConfigs operations to a topic or a
// broker resource (name "" for the cluster default, else a node id). Append
// and Subtract apply to list configs only, starting from the current
// effective value as Kafka does. All operations are validated first; then
// they are written together or not at all.
func (n *Node) alterConfigsLocal(ctx context.Context, rt ResourceType, name string, ops []ConfigOp, validateOnly bool) error {
	if len(ops) > maxConfigsPerOperation {
		return newError(kerr.InvalidRequest, fmt.Sprintf("%d operations exceed the limit of %d", len(ops), maxConfigsPerOperation))
	}
	unlock, err := n.lockController(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	return n.alterConfigsLocked(ctx, rt, name, ops, validateOnly)
}

func (n *Node) alterConfigsLocked(ctx context.Context, rt ResourceType, name string, ops []ConfigOp, validateOnly bool) error {
	img := n.Image()
	current, err := resourceConfigs(img, rt, name)
	if err != nil {
		return err
	}
	seen := make(map[string]bool, len(ops))
	var records []Record
	for _, op := range ops {
		if seen[op.Name] {
			return newError(kerr.InvalidRequest, fmt.Sprintf("config %s is altered twice", op.Name))
		}
		seen[op.Name] = true
		rec, err := n.planOp(img, rt, name, current, op)
		if err != nil {
			return err
		}
		records = append(records, rec)
	}
	if validateOnly || len(records) == 0 {
		return nil
	}
	return n.write(ctx, records)
}

// replaceConfigsLocal is the legacy AlterConfigs: the resource's dynamic configs
// become exactly configs.
func (n *Node) replaceConfigsLocal(ctx context.Context, rt ResourceType, name string, configs map[string]string, validateOnly bool) error {
	unlock, err := n.lockController(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	current, err := resourceConfigs(n.Image(), rt, name)
	if err != nil {
		return err
	}
	ops := make([]ConfigOp, 0, len(configs)+len(current))
	for _, k := range sortedKeys(configs) {
		ops = append(ops, ConfigOp{Name: k, Op: OpSet, Value: configs[k]})
	}
	for _, k := range sortedKeys(current) {
		if _, keep := configs[k]; !keep {
			ops = append(ops, ConfigOp{Name: k, Op: OpDelete})
		}
	}
	if len(ops) > maxConfigsPerOperation {
		return newError(kerr.InvalidRequest, fmt.Sprintf("%d changes exceed the limit of %d", len(ops), maxConfigsPerOperation))
	}
	return n.alterConfigsLocked(ctx, rt, name, ops, validateOnly)
}

// resourceConfigs checks the resource exists and returns its dynamic configs.
func resourceConfigs(img *Image, rt ResourceType, name string) (map[string]string, error) {
	switch rt {
	case ResourceTopic:
		t, ok := img.Topic(name)
		if !ok {
			return nil, newError(kerr.UnknownTopicOrPartition, fmt.Sprintf("topic %q does not exist", name))
		}
		return t.Configs, nil
	case ResourceBroker:
		if name != "" {
			if id, err := strconv.ParseInt(name, 10, 32); err != nil || id < 0 {
				return nil, newError(kerr.InvalidRequest, fmt.Sprintf("broker resource name %q is not a node id", name))
			}
		}
		return img.BrokerConfigs(name), nil
	}
	return nil, newError(kerr.InvalidRequest, fmt.Sprintf("unsupported resource type %q", rt))
}

func (n *Node) planOp(img *Image, rt ResourceType, name string, current map[string]string, op ConfigOp) (Record, error) {
	def, err := lookupDef(rt, op.Name)
	if err != nil {
		return nil, err
	}
	rec := ConfigRecord{ResourceType: rt, ResourceName: name, Name: op.Name}
	var value string
	switch op.Op {
	case OpDelete:
		return rec, nil
	case OpSet:
		value = op.Value
	case OpAppend, OpSubtract:
		if def.Type != config.List {
			return nil, newError(kerr.InvalidConfig, fmt.Sprintf("config %s is not a list; it cannot be appended to or subtracted from", op.Name))
		}
		value = alterList(n.effective(img, rt, name, current, def), op)
	default:
		return nil, newError(kerr.InvalidRequest, fmt.Sprintf("unknown config operation %d", op.Op))
	}
	if err := validateValue(rt, op.Name, value); err != nil {
		return nil, err
	}
	rec.Value = &value
	return rec, nil
}

func lookupDef(rt ResourceType, name string) (config.Def, error) {
	var def config.Def
	var ok bool
	if rt == ResourceTopic {
		def, ok = config.LookupTopic(name)
	} else {
		def, ok = config.LookupBroker(name)
	}
	if !ok {
		return def, newError(kerr.InvalidConfig, fmt.Sprintf("unknown %s config %q", rt, name))
	}
	return def, nil
}

func validateValue(rt ResourceType, name, value string) error {
	var err error
	if rt == ResourceTopic {
		err = config.ValidateTopicConfig(name, value)
	} else {
		err = config.ValidateBrokerConfig(name, value, true)
	}
	if err != nil {
		return newError(kerr.InvalidConfig, err.Error())
	}
	return nil
}

// effective is the value Append and Subtract start from: the resource's own
// value, else for a topic the broker-level value, else the default.
func (n *Node) effective(img *Image, rt ResourceType, name string, current map[string]string, def config.Def) string {
	if v, ok := current[def.Name]; ok {
		return v
	}
	if rt == ResourceTopic {
		t, _ := config.ResolveTopic(n.brokerProps(img), nil)
		return t.Values[def.Name]
	}
	if v, ok := img.BrokerConfigs("")[def.Name]; ok && name != "" {
		return v
	}
	if v, ok := n.opts.Broker.Props[def.Name]; ok {
		return v
	}
	return def.Default
}

// brokerProps merges, for topic resolution on this node, its static
// properties with the cluster-wide and its own dynamic broker configs.
func (n *Node) brokerProps(img *Image) map[string]string {
	merged := make(map[string]string)
	for k, v := range n.opts.Broker.Props {
		merged[k] = v
	}
	for k, v := range img.BrokerConfigs("") {
		merged[k] = v
	}
	for k, v := range img.BrokerConfigs(strconv.Itoa(int(n.opts.NodeID))) {
		merged[k] = v
	}
	return merged
}

func alterList(current string, op ConfigOp) string {
	var items []string
	for _, it := range strings.Split(current, ",") {
		if it = strings.TrimSpace(it); it != "" {
			items = append(items, it)
		}
	}
	for _, it := range strings.Split(op.Value, ",") {
		it = strings.TrimSpace(it)
		if it == "" {
			continue
		}
		if op.Op == OpAppend && !slices.Contains(items, it) {
			items = append(items, it)
		}
		if op.Op == OpSubtract {
			items = slices.DeleteFunc(items, func(x string) bool { return x == it })
		}
	}
	return strings.Join(items, ",")
}
