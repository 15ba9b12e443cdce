package metadata

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Security state kept in the quorum, as Kafka's KRaft keeps it: SCRAM
// credentials (UserScramCredentialRecord), ACLs (AccessControlEntryRecord)
// and client quotas (ClientQuotaRecord). The records carry Kafka's wire
// values, so that the handlers convert kmsg fields one to one; the rules
// (who may do what, how much) live in the acl, sasl and quota packages.

// SCRAM mechanisms, as Kafka's ScramMechanism ids.
const (
	ScramSHA256 int8 = 1
	ScramSHA512 int8 = 2
)

// ScramCredentialRecord sets a user's credential for one mechanism,
// replacing any earlier one: the salted keys, never the password.
type ScramCredentialRecord struct {
	User       string `json:"user"`
	Mechanism  int8   `json:"mechanism"`
	Salt       []byte `json:"salt"`
	StoredKey  []byte `json:"storedKey"`
	ServerKey  []byte `json:"serverKey"`
	Iterations int32  `json:"iterations"`
}

// RemoveScramCredentialRecord deletes a user's credential for a mechanism.
type RemoveScramCredentialRecord struct {
	User      string `json:"user"`
	Mechanism int8   `json:"mechanism"`
}

// ACLRecord adds one ACL binding under an id the controller chose, with
// Kafka's wire values for the resource type, pattern type, operation and
// permission.
type ACLRecord struct {
	ID           [16]byte `json:"id"`
	ResourceType int8     `json:"resourceType"`
	ResourceName string   `json:"resourceName"`
	PatternType  int8     `json:"patternType"`
	Principal    string   `json:"principal"`
	Host         string   `json:"host"`
	Operation    int8     `json:"operation"`
	Permission   int8     `json:"permission"`
}

// RemoveACLRecord deletes the ACL binding with ID.
type RemoveACLRecord struct {
	ID [16]byte `json:"id"`
}

// QuotaEntityPart is one part of a client quota entity: its type (user,
// client-id, ip) and name, nil for the default entity of that type.
type QuotaEntityPart struct {
	Type string  `json:"type"`
	Name *string `json:"name"`
}

// ClientQuotaRecord sets (Value non-nil) or removes one quota of an entity.
type ClientQuotaRecord struct {
	Entity []QuotaEntityPart `json:"entity"`
	Key    string            `json:"key"`
	Value  *float64          `json:"value"`
}

func (ScramCredentialRecord) recordType() string       { return "scramCredential" }
func (RemoveScramCredentialRecord) recordType() string { return "removeScramCredential" }
func (ACLRecord) recordType() string                   { return "acl" }
func (RemoveACLRecord) recordType() string             { return "removeAcl" }
func (ClientQuotaRecord) recordType() string           { return "clientQuota" }

// Bounds on security records beside maxNameBytes.
const (
	// maxScramBytes bounds a salt and a key (SHA-512 keys are 64 bytes).
	maxScramBytes = 1024
	// maxQuotaEntityParts: user and client-id, or ip.
	maxQuotaEntityParts = 2
)

func decodeSecurityData(typ string, data []byte) (Record, bool, error) {
	switch typ {
	case "scramCredential":
		r, err := decodeAs[ScramCredentialRecord](data)
		return r, true, err
	case "removeScramCredential":
		r, err := decodeAs[RemoveScramCredentialRecord](data)
		return r, true, err
	case "acl":
		r, err := decodeAs[ACLRecord](data)
		return r, true, err
	case "removeAcl":
		r, err := decodeAs[RemoveACLRecord](data)
		return r, true, err
	case "clientQuota":
		r, err := decodeAs[ClientQuotaRecord](data)
		return r, true, err
	}
	return nil, false, nil
}

// checkSecurity validates a security record's fields; known reports
// whether r is one.
func checkSecurity(r Record) (known bool, err error) {
	switch r := r.(type) {
	case ScramCredentialRecord:
		return true, checkScram(r)
	case RemoveScramCredentialRecord:
		return true, checkScramUser(r.User, r.Mechanism)
	case ACLRecord:
		return true, checkACL(r)
	case RemoveACLRecord:
		return true, nil
	case ClientQuotaRecord:
		return true, checkQuota(r)
	}
	return false, nil
}

func checkScramUser(user string, mech int8) error {
	if user == "" || len(user) > maxNameBytes {
		return errors.New("scram user name empty or too long")
	}
	if mech != ScramSHA256 && mech != ScramSHA512 {
		return fmt.Errorf("unknown scram mechanism %d", mech)
	}
	return nil
}

// ScramKeyBytes is the length of a mechanism's keys.
func ScramKeyBytes(mech int8) int {
	if mech == ScramSHA512 {
		return 64
	}
	return 32
}

func checkScram(r ScramCredentialRecord) error {
	if err := checkScramUser(r.User, r.Mechanism); err != nil {
		return err
	}
	n := ScramKeyBytes(r.Mechanism)
	if len(r.StoredKey) != n || len(r.ServerKey) != n || len(r.Salt) == 0 || len(r.Salt) > maxScramBytes {
		return errors.New("scram salt or key lengths out of range")
	}
	// Kafka's bounds on iterations (ScramMechanism min and max).
	if r.Iterations < 4096 || r.Iterations > 16384 {
		return fmt.Errorf("scram iterations %d outside [4096, 16384]", r.Iterations)
	}
	return nil
}

func checkACL(r ACLRecord) error {
	if r.ID == ([16]byte{}) {
		return errors.New("zero acl id")
	}
	if r.ResourceName == "" || len(r.ResourceName) > maxNameBytes || len(r.Principal) > maxNameBytes || len(r.Host) > maxNameBytes {
		return errors.New("acl names out of range")
	}
	// Only concrete values are stored: no Any or Match, no Unknown.
	if r.ResourceType < 2 || r.ResourceType > 7 || r.PatternType < 3 || r.PatternType > 4 ||
		r.Operation < 2 || r.Operation > 14 || r.Permission < 2 || r.Permission > 3 {
		return errors.New("acl values out of range")
	}
	return nil
}

func checkQuota(r ClientQuotaRecord) error {
	if len(r.Entity) == 0 || len(r.Entity) > maxQuotaEntityParts {
		return fmt.Errorf("quota entity of %d parts", len(r.Entity))
	}
	for _, p := range r.Entity {
		if p.Type == "" || len(p.Type) > 64 || (p.Name != nil && len(*p.Name) > maxNameBytes) {
			return errors.New("quota entity part out of range")
		}
	}
	if r.Key == "" || len(r.Key) > 256 {
		return errors.New("quota key out of range")
	}
	return nil
}

// ScramCredential is a user's stored credential for one mechanism.
type ScramCredential struct {
	Salt       []byte
	StoredKey  []byte
	ServerKey  []byte
	Iterations int32
}

// ScramUser is one user's credentials by mechanism.
type ScramUser struct {
	Name        string
	Credentials map[int8]ScramCredential
}

// ACLBinding is a stored ACL with its id.
type ACLBinding = ACLRecord

// ClientQuota is one entity's quotas.
type ClientQuota struct {
	Entity []QuotaEntityPart
	Values map[string]float64
}

// securityImage is the part of an Image the security records build.
type securityImage struct {
	scram  map[string]map[int8]ScramCredential
	acls   map[[16]byte]ACLRecord
	quotas map[string]ClientQuota // by quotaEntityKey
	// aclVersion changes whenever the ACLs do, so that an authorizer built
	// from an image knows when to rebuild.
	aclVersion uint64
}

// ScramCredential returns user's credential for mechanism.
func (img *Image) ScramCredential(user string, mechanism int8) (ScramCredential, bool) {
	c, ok := img.security.scram[user][mechanism]
	return c, ok
}

// ScramUsers lists the users with credentials, sorted by name.
func (img *Image) ScramUsers() []ScramUser {
	out := make([]ScramUser, 0, len(img.security.scram))
	for name, creds := range img.security.scram {
		out = append(out, ScramUser{Name: name, Credentials: creds})
	}
	slices.SortFunc(out, func(a, b ScramUser) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// ACLs lists the ACL bindings, sorted by id, and a version that changes
// whenever they do.
func (img *Image) ACLs() ([]ACLBinding, uint64) {
	out := slices.Collect(maps.Values(img.security.acls))
	slices.SortFunc(out, func(a, b ACLBinding) int { return bytes.Compare(a.ID[:], b.ID[:]) })
	return out, img.security.aclVersion
}

// ACLVersion changes whenever the ACLs do.
func (img *Image) ACLVersion() uint64 { return img.security.aclVersion }

// ClientQuotas lists the entities with quotas, sorted by entity.
func (img *Image) ClientQuotas() []ClientQuota {
	keys := slices.Sorted(maps.Keys(img.security.quotas))
	out := make([]ClientQuota, 0, len(keys))
	for _, k := range keys {
		out = append(out, img.security.quotas[k])
	}
	return out
}

// quotaEntityKey is a canonical string for an entity: its parts sorted by
// type, each as type=name or type (default).
func quotaEntityKey(entity []QuotaEntityPart) string {
	parts := slices.Clone(entity)
	slices.SortFunc(parts, func(a, b QuotaEntityPart) int { return strings.Compare(a.Type, b.Type) })
	var sb strings.Builder
	for _, p := range parts {
		fmt.Fprintf(&sb, "%q", p.Type)
		if p.Name != nil {
			fmt.Fprintf(&sb, "=%q", *p.Name)
		}
		sb.WriteByte(';')
	}
	return sb.String()
}

// applySecurity applies a security record; known reports whether r is one.
func (b *builder) applySecurity(r Record) (known bool, err error) {
	switch r := r.(type) {
	case ScramCredentialRecord:
		b.copyScram()
		creds := maps.Clone(b.img.security.scram[r.User])
		if creds == nil {
			creds = map[int8]ScramCredential{}
		}
		creds[r.Mechanism] = ScramCredential{Salt: r.Salt, StoredKey: r.StoredKey, ServerKey: r.ServerKey, Iterations: r.Iterations}
		b.img.security.scram[r.User] = creds
		return true, nil
	case RemoveScramCredentialRecord:
		if _, ok := b.img.security.scram[r.User][r.Mechanism]; !ok {
			return true, fmt.Errorf("no %d credential of user %q", r.Mechanism, r.User)
		}
		b.copyScram()
		creds := maps.Clone(b.img.security.scram[r.User])
		delete(creds, r.Mechanism)
		if len(creds) == 0 {
			delete(b.img.security.scram, r.User)
		} else {
			b.img.security.scram[r.User] = creds
		}
		return true, nil
	case ACLRecord:
		if _, dup := b.img.security.acls[r.ID]; dup {
			return true, fmt.Errorf("duplicate acl id %x", r.ID)
		}
		b.copyACLs()
		b.img.security.acls[r.ID] = r
		return true, nil
	case RemoveACLRecord:
		if _, ok := b.img.security.acls[r.ID]; !ok {
			return true, fmt.Errorf("no acl with id %x", r.ID)
		}
		b.copyACLs()
		delete(b.img.security.acls, r.ID)
		return true, nil
	case ClientQuotaRecord:
		b.setQuota(r)
		return true, nil
	}
	return false, nil
}

func (b *builder) copyScram() {
	if !b.scramCopied {
		b.img.security.scram, b.scramCopied = maps.Clone(b.img.security.scram), true
		if b.img.security.scram == nil {
			b.img.security.scram = map[string]map[int8]ScramCredential{}
		}
	}
}

func (b *builder) copyACLs() {
	if !b.aclsCopied {
		b.img.security.acls, b.aclsCopied = maps.Clone(b.img.security.acls), true
		if b.img.security.acls == nil {
			b.img.security.acls = map[[16]byte]ACLRecord{}
		}
	}
	b.img.security.aclVersion++
}

func (b *builder) setQuota(r ClientQuotaRecord) {
	if !b.quotasCopied {
		b.img.security.quotas, b.quotasCopied = maps.Clone(b.img.security.quotas), true
		if b.img.security.quotas == nil {
			b.img.security.quotas = map[string]ClientQuota{}
		}
	}
	key := quotaEntityKey(r.Entity)
	q := b.img.security.quotas[key]
	values := maps.Clone(q.Values)
	if values == nil {
		values = map[string]float64{}
	}
	if r.Value == nil {
		delete(values, r.Key)
	} else {
		values[r.Key] = *r.Value
	}
	if len(values) == 0 {
		delete(b.img.security.quotas, key)
		return
	}
	b.img.security.quotas[key] = ClientQuota{Entity: r.Entity, Values: values}
}

// securitySnapshot is the security part of a snapshot.
type securitySnapshot struct {
	Scram      []ScramCredentialRecord `json:"scram,omitempty"`
	ACLs       []ACLRecord             `json:"acls,omitempty"`
	ACLVersion uint64                  `json:"aclVersion,omitempty"`
	Quotas     []ClientQuotaRecord     `json:"quotas,omitempty"`
}

func (img *Image) securitySnapshot() *securitySnapshot {
	var s securitySnapshot
	for _, u := range img.ScramUsers() {
		for _, mech := range slices.Sorted(maps.Keys(u.Credentials)) {
			c := u.Credentials[mech]
			s.Scram = append(s.Scram, ScramCredentialRecord{User: u.Name, Mechanism: mech, Salt: c.Salt,
				StoredKey: c.StoredKey, ServerKey: c.ServerKey, Iterations: c.Iterations})
		}
	}
	s.ACLs, s.ACLVersion = img.ACLs()
	for _, q := range img.ClientQuotas() {
		for _, k := range slices.Sorted(maps.Keys(q.Values)) {
			v := q.Values[k]
			s.Quotas = append(s.Quotas, ClientQuotaRecord{Entity: q.Entity, Key: k, Value: &v})
		}
	}
	if s.Scram == nil && s.ACLs == nil && s.Quotas == nil && s.ACLVersion == 0 {
		return nil
	}
	return &s
}

// restoreSecurity rebuilds the security state of a snapshot, checking each
// entry as the record decoder would.
func restoreSecurity(img *Image, s *securitySnapshot) error {
	if s == nil {
		return nil
	}
	b := builder{base: img, img: *img}
	var records []Record
	for _, r := range s.Scram {
		records = append(records, r)
	}
	for _, r := range s.ACLs {
		records = append(records, r)
	}
	for _, r := range s.Quotas {
		records = append(records, r)
	}
	for _, r := range records {
		if _, err := checkSecurity(r); err != nil {
			return err
		}
		if _, err := b.applySecurity(r); err != nil {
			return err
		}
	}
	img.security = b.img.security
	img.security.aclVersion = s.ACLVersion
	return nil
}
