package quota

import (
	"math"
	"slices"
	"strconv"
	"strings"
)

// Op is one operation of an alteration: set Key to Value, or remove it.
type Op struct {
	Key    Key
	Value  float64
	Remove bool
}

// Alteration is one entry of an AlterClientQuotas request.
type Alteration struct {
	Entity []WireComponent
	Ops    []Op
}

// Record is a ClientQuotaRecord: the unit the metadata quorum commits and
// replays into Store.Apply. Remove drops Key from Entity; otherwise Key is
// set to Value.
type Record struct {
	Entity Entity
	Key    Key
	Value  float64
	Remove bool
}

// Integral keys and the largest value their Java config type holds.
var integralLimit = [numKeys]float64{
	idxProducer:   math.MaxInt64, // LONG
	idxConsumer:   math.MaxInt64, // LONG
	idxConnection: math.MaxInt32, // INT
}

// validateValue checks a value to set as Kafka's controller does
// (validateQuotaKeyValue): a known key for the entity, greater than zero, and
// for integral keys within range and without a fraction. Kafka lets NaN and
// infinities through because every comparison with them is false; fjord
// refuses them, as no throttle can be computed from them.
func validateValue(e Entity, key Key, value float64) error {
	idx, ok := indexOf(key)
	if !ok || !keyAllowed(e, idx) {
		return invalidRequest("Invalid configuration key %s", key)
	}
	if math.IsNaN(value) || math.IsInf(value, 0) {
		return invalidRequest("Quota %s must be a finite number", key)
	}
	if value <= 0 {
		return invalidRequest("Quota %s must be greater than 0", key)
	}
	limit := integralLimit[idx]
	if limit == 0 {
		return nil // DOUBLE
	}
	if value > limit {
		if idx == idxConnection {
			return invalidRequest("Proposed value for %s is too large for an INT.", key)
		}
		return invalidRequest("Proposed value for %s is too large for a LONG.", key)
	}
	if math.Abs(math.Mod(value, 1)) > 1e-6 {
		return invalidRequest("%s cannot be a fractional value.", key)
	}
	return nil
}

// PlanAlter answers an AlterClientQuotas request against the current configs
// without changing them, as Kafka's controller does: one result per
// alteration (nil for success, an *Error otherwise) and the records to
// commit. Only changed values produce records, and removing an absent key
// produces none. Kafka's quirks are kept: results are kept per entity, so an
// entity listed twice, or with a key given twice, is answered "Ignoring
// duplicate entity" in every entry for it (although records planned for its
// first entry are still returned), and an op that removes a key is not
// validated at all.
func (s *Store) PlanAlter(alterations []Alteration) ([]error, []Record) {
	t := s.table.Load()
	byEntity := make(map[string]error, len(alterations))
	keys := make([]string, len(alterations))
	var records []Record
	for i, alt := range alterations {
		key := wireKey(alt.Entity)
		keys[i] = key
		if dupKey, ok := duplicateKey(alt.Ops); ok {
			byEntity[key] = invalidRequest("Duplicate quota key %s not updating quota for this entity", dupKey)
		}
		if _, answered := byEntity[key]; answered {
			byEntity[key] = invalidRequest("Ignoring duplicate entity %s", key)
			continue
		}
		entity, err := EntityFromWire(alt.Entity, s.resolvesHost)
		if err == nil {
			var planned []Record
			planned, err = planEntity(t, entity, alt.Ops)
			records = append(records, planned...)
		}
		byEntity[key] = err
	}
	results := make([]error, len(alterations))
	for i, key := range keys {
		results[i] = byEntity[key]
	}
	return results, records
}

// wireKey identifies an entity as Kafka's ClientQuotaEntity map does: by its
// set of type/name pairs, the last name of a repeated type winning.
func wireKey(components []WireComponent) string {
	last := make(map[string]*string, len(components))
	types := make([]string, 0, len(components))
	for _, c := range components {
		if _, ok := last[c.Type]; !ok {
			types = append(types, c.Type)
		}
		last[c.Type] = c.Name
	}
	slices.Sort(types)
	var b strings.Builder
	b.WriteByte('{')
	for i, typ := range types {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Quote(typ))
		b.WriteByte('=')
		if name := last[typ]; name != nil {
			b.WriteString(strconv.Quote(*name))
		} else {
			b.WriteString("<default>")
		}
	}
	b.WriteByte('}')
	return b.String()
}

func duplicateKey(ops []Op) (Key, bool) {
	for i := range ops {
		for j := range i {
			if ops[i].Key == ops[j].Key {
				return ops[i].Key, true
			}
		}
	}
	return "", false
}

// planEntity validates one entity's ops and returns its records; any invalid
// op refuses the whole entity.
func planEntity(t *table, entity Entity, ops []Op) ([]Record, error) {
	current := t.entities[entity]
	var records []Record
	for _, op := range ops {
		idx, known := indexOf(op.Key)
		has := known && current.has(idx)
		if op.Remove {
			if has {
				records = append(records, Record{Entity: entity, Key: op.Key, Remove: true})
			}
			continue
		}
		if err := validateValue(entity, op.Key, op.Value); err != nil {
			return nil, err
		}
		if has && current.v[idx] == op.Value {
			continue
		}
		records = append(records, Record{Entity: entity, Key: op.Key, Value: op.Value})
	}
	return records, nil
}
