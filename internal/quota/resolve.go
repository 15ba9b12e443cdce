package quota

// KIP-55 precedence. A client (user principal, client id) is governed by the
// first of these eight entities that sets the quota's key:
//
//	1 user=<user>,    client-id=<client-id>
//	2 user=<user>,    client-id=<default>
//	3 user=<user>
//	4 user=<default>, client-id=<client-id>
//	5 user=<default>, client-id=<default>
//	6 user=<default>
//	7 client-id=<client-id>
//	8 client-id=<default>
//
// The level found also picks the quota entity whose sensor measures the
// rate, Kafka's metric tags: (user, client-id) at levels 1, 2, 4 and 5,
// (user, "") at 3 and 6, and ("", client-id) at 7, 8 and when nothing
// matches. So with user=<default> every user has its own rate, while with
// user=alice all of alice's client ids share one.

// SensorEntity is a quota entity as Kafka's metric tags name it: the user
// and client id whose traffic one sensor adds up; "" leaves a type out.
type SensorEntity struct {
	User     string
	ClientID string
}

// Resolution is the quota that applies to a client and the entity whose
// rate it is compared with.
type Resolution struct {
	// Limited is false when no level sets the key: the client is not
	// throttled (Kafka's quota of Long.MaxValue).
	Limited bool
	Quota   float64
	Entity  SensorEntity
}

// levelOf numbers a user/client-id entity 0..7 in precedence order; ip
// entities have no level.
func levelOf(e Entity) (int, bool) {
	if e.IP.Kind != Absent {
		return 0, false
	}
	switch e.User.Kind {
	case Named:
		return [...]int{Named: 0, Default: 1, Absent: 2}[e.ClientID.Kind], true
	case Default:
		return [...]int{Named: 3, Default: 4, Absent: 5}[e.ClientID.Kind], true
	}
	switch e.ClientID.Kind {
	case Named:
		return 6, true
	case Default:
		return 7, true
	}
	return 0, false
}

// levelEntity is the entity consulted at level for user and clientID.
func levelEntity(level int, user, clientID string) Entity {
	u := [...]Component{Name(user), Name(user), Name(user), DefaultComponent(), DefaultComponent(), DefaultComponent(), {}, {}}[level]
	c := [...]Component{Name(clientID), DefaultComponent(), {}, Name(clientID), DefaultComponent(), {}, Name(clientID), DefaultComponent()}[level]
	return Entity{User: u, ClientID: c}
}

func (t *table) lookup(k keyIndex, level int, user, clientID string) (float64, bool) {
	if t.levels[k]&(1<<level) == 0 {
		return 0, false
	}
	v, ok := t.entities[levelEntity(level, user, clientID)]
	if !ok || !v.has(k) {
		return 0, false
	}
	return v.v[k], true
}

// resolve finds the quota entity and then its quota in two steps, as Kafka's
// default quota callback does (quotaMetricTags, then quotaLimit). The steps
// agree except for empty names: a client with an empty client id matched by
// user=<user>,client-id=<default> gets the tags (user, ""), whose limit is
// then looked up at levels 3 and 6 only.
func (t *table) resolve(k keyIndex, user, clientID string) Resolution {
	if t.levels[k] == 0 {
		return Resolution{Entity: SensorEntity{ClientID: clientID}}
	}
	tags := SensorEntity{ClientID: clientID}
	for level := range 6 {
		if _, ok := t.lookup(k, level, user, clientID); ok {
			tags.User = user
			if level == 2 || level == 5 {
				tags.ClientID = ""
			}
			break
		}
	}
	var levels []int
	switch {
	case tags.User != "" && tags.ClientID != "":
		levels = levelsBoth[:]
	case tags.User != "":
		levels = levelsUser[:]
	case tags.ClientID != "":
		levels = levelsClient[:]
	}
	for _, level := range levels {
		if q, ok := t.lookup(k, level, tags.User, tags.ClientID); ok {
			return Resolution{Limited: true, Quota: q, Entity: tags}
		}
	}
	return Resolution{Entity: tags}
}

// The levels Kafka's quotaLimit consults for each shape of tags.
var (
	levelsBoth   = [...]int{0, 1, 3, 4}
	levelsUser   = [...]int{2, 5}
	levelsClient = [...]int{6, 7}
)
