package quota

import (
	"maps"
	"net/netip"
	"sync"
	"sync/atomic"
)

// values are the quota values of one entity; bit i of set says v[i] is set.
type values struct {
	v   [numKeys]float64
	set uint8
}

func (v values) has(i keyIndex) bool { return v.set&(1<<i) != 0 }

// table is one immutable version of every quota config. Readers share it;
// Apply builds the next one.
type table struct {
	entities map[Entity]values
	// levels[k] has bit l set when some entity at precedence level l
	// (levelOf) sets key k, so resolution skips levels nobody configured.
	levels [numKeys]uint16
	// ipRates indexes connection_creation_rate by address: ip entities whose
	// name is a literal or resolved when the record was applied.
	ipRates       map[netip.Addr]float64
	defaultIPRate float64
	hasDefaultIP  bool
}

// Store holds the client quota configs replayed from the metadata log. It is
// safe for concurrent use: readers never block, Apply calls are serialized.
type Store struct {
	resolveHost func(string) (netip.Addr, bool)

	mu    sync.Mutex // serializes Apply; readers go through table
	table atomic.Pointer[table]
}

// NewStore returns an empty store. resolveHost, which may be nil, turns an ip
// entity's hostname into an address, as Kafka resolves such names
// (InetAddress.getByName); the core does no I/O, so a driver that wants
// hostnames passes a resolver. Without one only IP literals are accepted by
// PlanAlter and enforced by ConnectionQuotas.
func NewStore(resolveHost func(host string) (netip.Addr, bool)) *Store {
	s := &Store{resolveHost: resolveHost}
	s.table.Store(&table{entities: map[Entity]values{}, ipRates: map[netip.Addr]float64{}})
	return s
}

func (s *Store) resolvesHost(host string) bool {
	if s.resolveHost == nil {
		return false
	}
	_, ok := s.resolveHost(host)
	return ok
}

// Apply replays committed records, in order. Each call copies the table once,
// so the metadata layer should pass a whole batch (a snapshot load in one
// call, not one call per record). Records with an unknown key are ignored:
// PlanAlter never produces them.
func (s *Store) Apply(records ...Record) {
	if len(records) == 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.table.Load()
	entities := maps.Clone(old.entities)
	for _, r := range records {
		idx, ok := indexOf(r.Key)
		if !ok {
			continue
		}
		v := entities[r.Entity]
		if r.Remove {
			v.set &^= 1 << idx
			v.v[idx] = 0
		} else {
			v.set |= 1 << idx
			v.v[idx] = r.Value
		}
		if v.set == 0 {
			delete(entities, r.Entity)
		} else {
			entities[r.Entity] = v
		}
	}
	s.table.Store(s.index(entities))
}

// index derives the lookup aids of a table from its entities.
func (s *Store) index(entities map[Entity]values) *table {
	t := &table{entities: entities, ipRates: map[netip.Addr]float64{}}
	for e, v := range entities {
		if level, ok := levelOf(e); ok {
			for k := range numKeys {
				if v.has(k) {
					t.levels[k] |= 1 << level
				}
			}
		}
		if e.IP.Kind == Absent || !v.has(idxConnection) {
			continue
		}
		rate := v.v[idxConnection]
		if e.IP.Kind == Default {
			t.defaultIPRate, t.hasDefaultIP = rate, true
			continue
		}
		addr, ok := parseIP(e.IP.Name)
		if !ok && s.resolveHost != nil {
			addr, ok = s.resolveHost(e.IP.Name)
			addr = canonicalIP(addr)
		}
		if ok {
			t.ipRates[addr] = rate
		}
	}
	return t
}

// Quotas returns the values set on exactly e (no resolution).
func (s *Store) Quotas(e Entity) map[Key]float64 {
	v := s.table.Load().entities[e]
	out := make(map[Key]float64)
	for k := range numKeys {
		if v.has(k) {
			out[keyNames[k]] = v.v[k]
		}
	}
	return out
}

// ipConnectionRate is the connection_creation_rate quota of addr: its own,
// else the default ip entity's; ok is false when neither is set.
func (t *table) ipConnectionRate(addr netip.Addr) (rate float64, ok bool) {
	if r, ok := t.ipRates[addr]; ok {
		return r, true
	}
	return t.defaultIPRate, t.hasDefaultIP
}

// parseIP parses an IP literal into the form used as a key: IPv4-mapped IPv6
// addresses become IPv4 (Java's InetAddress does the same) and zones go.
func parseIP(s string) (netip.Addr, bool) {
	addr, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}, false
	}
	return canonicalIP(addr), true
}

func canonicalIP(a netip.Addr) netip.Addr { return a.Unmap().WithZone("") }
