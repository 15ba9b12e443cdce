package quota

import (
	"fmt"
	"strings"

	"github.com/twmb/franz-go/pkg/kerr"
)

// Entity types, as they appear in AlterClientQuotas and DescribeClientQuotas.
const (
	EntityUser     = "user"
	EntityClientID = "client-id"
	EntityIP       = "ip"
)

// Key is a quota config key.
type Key string

// The quota config keys Kafka knows. The first four apply to user and
// client-id entities, the last to ip entities only.
const (
	ProducerByteRate       Key = "producer_byte_rate"
	ConsumerByteRate       Key = "consumer_byte_rate"
	RequestPercentage      Key = "request_percentage"
	ControllerMutationRate Key = "controller_mutation_rate"
	ConnectionCreationRate Key = "connection_creation_rate"
)

// keyIndex numbers the keys so a config's values fit in an array.
type keyIndex uint8

const (
	idxProducer keyIndex = iota
	idxConsumer
	idxRequest
	idxMutation
	idxConnection
	numKeys
)

var keyNames = [numKeys]Key{ProducerByteRate, ConsumerByteRate, RequestPercentage, ControllerMutationRate, ConnectionCreationRate}

func indexOf(k Key) (keyIndex, bool) {
	for i, name := range keyNames {
		if name == k {
			return keyIndex(i), true
		}
	}
	return 0, false
}

// ComponentKind says whether an entity names a type, and how.
type ComponentKind uint8

const (
	// Absent: the entity does not name this type.
	Absent ComponentKind = iota
	// Named: the entity names one user, client id or ip.
	Named
	// Default: the default entity of the type (a null name on the wire,
	// <default> in Kafka's tools).
	Default
)

// Component is one type of an Entity. The zero value is Absent.
type Component struct {
	Kind ComponentKind
	Name string // set only when Kind is Named
}

// Name is a Named component.
func Name(n string) Component { return Component{Kind: Named, Name: n} }

// DefaultComponent is the default entity of a type.
func DefaultComponent() Component { return Component{Kind: Default} }

func (c Component) String() string {
	switch c.Kind {
	case Named:
		return c.Name
	case Default:
		return "<default>"
	}
	return "<absent>"
}

// Entity is a client quota entity: a user, a client id, both, or an ip, each
// of them named or default. It is comparable and serves as a map key.
type Entity struct {
	User     Component
	ClientID Component
	IP       Component
}

func (e Entity) String() string {
	var parts []string
	if e.User.Kind != Absent {
		parts = append(parts, EntityUser+"="+e.User.String())
	}
	if e.ClientID.Kind != Absent {
		parts = append(parts, EntityClientID+"="+e.ClientID.String())
	}
	if e.IP.Kind != Absent {
		parts = append(parts, EntityIP+"="+e.IP.String())
	}
	return "{" + strings.Join(parts, ",") + "}"
}

// WireComponent is one entity component as the wire carries it (kmsg's
// AlterClientQuotasRequestEntryEntity): a type and a name, nil for the
// default entity.
type WireComponent struct {
	Type string
	Name *string
}

// Error is a refusal with a Kafka error code and the message Kafka puts next
// to it. errors.Is(err, kerr.InvalidRequest) and friends hold, so the handler
// maps codes in one place and copies Message into the response.
type Error struct {
	Code    *kerr.Error
	Message string
}

func (e *Error) Error() string { return e.Code.Message + ": " + e.Message }

// Unwrap exposes the Kafka code to errors.Is and errors.As.
func (e *Error) Unwrap() error { return e.Code }

func invalidRequest(format string, args ...any) *Error {
	return &Error{Code: kerr.InvalidRequest, Message: fmt.Sprintf(format, args...)}
}

// EntityFromWire builds an Entity from wire components and validates it as
// Kafka's controller does (validateEntity, then the allowed combinations):
// user, client-id, user+client-id, or ip alone; no empty names; ip names
// must be IP literals or resolve through resolveHost (nil resolves nothing).
// As in Kafka's request parsing, a type given twice keeps its last name.
func EntityFromWire(components []WireComponent, resolveHost func(string) bool) (Entity, error) {
	if len(components) == 0 {
		return Entity{}, invalidRequest("Invalid empty client quota entity")
	}
	// Kafka collects the components in a map before validating.
	var e Entity
	for _, c := range components {
		comp := DefaultComponent()
		if c.Name != nil {
			comp = Name(*c.Name)
		}
		switch c.Type {
		case EntityUser:
			e.User = comp
		case EntityClientID:
			e.ClientID = comp
		case EntityIP:
			e.IP = comp
		default:
			return Entity{}, invalidRequest("Unhandled client quota entity type: %s", c.Type)
		}
	}
	for typ, c := range map[string]Component{EntityUser: e.User, EntityClientID: e.ClientID, EntityIP: e.IP} {
		if c.Kind == Named && c.Name == "" {
			return Entity{}, invalidRequest("Empty %s not supported", typ)
		}
	}
	return e, checkCombination(e, resolveHost)
}

// checkCombination allows the combinations Kafka allows.
func checkCombination(e Entity, resolveHost func(string) bool) error {
	hasUser, hasClient, hasIP := e.User.Kind != Absent, e.ClientID.Kind != Absent, e.IP.Kind != Absent
	switch {
	case hasIP && (hasUser || hasClient):
		return invalidRequest("Invalid quota entity combination, IP entity should not be combined with User or ClientId")
	case hasIP:
		if e.IP.Kind == Named && !validIP(e.IP.Name, resolveHost) {
			return invalidRequest("%s is not a valid IP or resolvable host.", e.IP.Name)
		}
	case !hasUser && !hasClient:
		return invalidRequest("Invalid empty client quota entity")
	}
	return nil
}

func validIP(name string, resolveHost func(string) bool) bool {
	if _, ok := parseIP(name); ok {
		return true
	}
	return resolveHost != nil && resolveHost(name)
}

// keyAllowed reports whether k may be set on e: the four client keys on user
// and client-id entities, connection_creation_rate on ip entities.
func keyAllowed(e Entity, k keyIndex) bool {
	if e.IP.Kind != Absent {
		return k == idxConnection
	}
	return k != idxConnection
}
