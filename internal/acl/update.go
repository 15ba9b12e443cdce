package acl

import (
	"errors"
	"fmt"
	"hash/maphash"
	"maps"
	"slices"
)

// ErrDuplicateID is returned when an added binding's id is already stored.
var ErrDuplicateID = errors.New("acl: binding id already stored")

// ErrUnknownID is returned when a removed binding's id is not stored.
var ErrUnknownID = errors.New("acl: no binding with this id")

// ChangeKind says whether a Change adds or removes a binding.
type ChangeKind uint8

const (
	// ChangeAdd stores Change.Binding under Change.ID, as an
	// AccessControlEntryRecord does.
	ChangeAdd ChangeKind = iota + 1
	// ChangeRemove drops the binding stored under Change.ID, as a
	// RemoveAccessControlEntryRecord does.
	ChangeRemove
)

// Change is one ACL record for Apply.
type Change struct {
	Kind    ChangeKind
	ID      ID
	Binding Binding // for ChangeAdd only
}

// Add stores a binding under id. The binding must pass Validate and the id
// must be new.
func (a *Authorizer) Add(id ID, b Binding) error {
	return a.Apply([]Change{{Kind: ChangeAdd, ID: id, Binding: b}})
}

// Remove drops the binding stored under id. When it returns, no Authorize
// that starts afterwards honours the binding.
func (a *Authorizer) Remove(id ID) error {
	return a.Apply([]Change{{Kind: ChangeRemove, ID: id}})
}

// Apply applies changes in order and publishes the result as one snapshot:
// readers see all of them or none. It checks the whole batch first and
// changes nothing when any change is invalid. A batch costs O(k log k) for the
// k entries of the patterns it touches plus the shards it copies, so loading
// 10,000 bindings in one call is not quadratic.
func (a *Authorizer) Apply(changes []Change) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if err := a.checkLocked(changes); err != nil {
		return err
	}
	bld := newBuilder(a.current.Load(), a.seed)
	for _, c := range changes {
		switch c.Kind {
		case ChangeAdd:
			bld.add(c.ID, c.Binding)
			a.mu.byID[c.ID] = c.Binding
			a.countPrefixLocked(c.Binding, +1, bld)
		case ChangeRemove:
			old := a.mu.byID[c.ID]
			bld.remove(c.ID, old)
			delete(a.mu.byID, c.ID)
			a.countPrefixLocked(old, -1, bld)
		}
	}
	a.current.Store(bld.finish(&a.mu.prefixLengthCounts))
	return nil
}

// Replace drops every stored binding and stores these instead, as loading a
// metadata snapshot does.
func (a *Authorizer) Replace(bindings []IDAndBinding) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	seen := make(map[ID]struct{}, len(bindings))
	for _, ib := range bindings {
		if _, dup := seen[ib.ID]; dup {
			return fmt.Errorf("replace %v: %w", ib.ID, ErrDuplicateID)
		}
		seen[ib.ID] = struct{}{}
		if err := ib.Binding.Validate(); err != nil {
			return fmt.Errorf("replace %v: %w", ib.ID, err)
		}
	}
	a.mu.byID = make(map[ID]Binding, len(bindings))
	a.mu.prefixLengthCounts = [numResourceTypes]map[int]int{}
	bld := newBuilder(&snapshot{}, a.seed)
	for _, ib := range bindings {
		bld.add(ib.ID, ib.Binding)
		a.mu.byID[ib.ID] = ib.Binding
		a.countPrefixLocked(ib.Binding, +1, bld)
	}
	a.current.Store(bld.finish(&a.mu.prefixLengthCounts))
	return nil
}

// checkLocked validates a batch against the stored ids as they will be when
// each change is reached.
func (a *Authorizer) checkLocked(changes []Change) error {
	present := make(map[ID]bool) // ids the batch has added (true) or removed (false) so far
	for i, c := range changes {
		stored, touched := present[c.ID]
		if !touched {
			_, stored = a.mu.byID[c.ID]
		}
		switch c.Kind {
		case ChangeAdd:
			if stored {
				return fmt.Errorf("change %d: add %v: %w", i, c.ID, ErrDuplicateID)
			}
			if err := c.Binding.Validate(); err != nil {
				return fmt.Errorf("change %d: add %v: %w", i, c.ID, err)
			}
			present[c.ID] = true
		case ChangeRemove:
			if !stored {
				return fmt.Errorf("change %d: remove %v: %w", i, c.ID, ErrUnknownID)
			}
			present[c.ID] = false
		default:
			return fmt.Errorf("change %d: unknown change kind %d", i, c.Kind)
		}
	}
	return nil
}

func (a *Authorizer) countPrefixLocked(b Binding, delta int, bld *builder) {
	if b.PatternType != PatternPrefixed {
		return
	}
	counts := &a.mu.prefixLengthCounts[b.ResourceType]
	if *counts == nil {
		*counts = make(map[int]int)
	}
	length := len(b.ResourceName)
	before := (*counts)[length]
	(*counts)[length] = before + delta
	if (*counts)[length] == 0 {
		delete(*counts, length)
	}
	if before == 0 || before+delta == 0 {
		bld.prefixLengthsChanged[b.ResourceType] = true
	}
}

// patternRef names one pattern's entry list across resource types.
type patternRef struct {
	resourceType ResourceType
	key          patternKey
}

// builder makes the next snapshot from the current one, copying each type
// index, shard and entry list it changes once per batch, and sharing the
// rest with the current snapshot, which it never modifies.
type builder struct {
	seed       maphash.Seed
	old        *snapshot
	next       *snapshot
	ownedType  [numResourceTypes]bool
	ownedShard [numResourceTypes][numShards]bool
	// working holds the entry lists the batch changes, by id, until finish
	// sorts them; this keeps k changes to one pattern O(k log k).
	working              map[patternRef]map[ID]entry
	prefixLengthsChanged [numResourceTypes]bool
}

func newBuilder(old *snapshot, seed maphash.Seed) *builder {
	next := *old
	return &builder{seed: seed, old: old, next: &next, working: make(map[patternRef]map[ID]entry)}
}

// list returns the working copy of a pattern's entries, making it from the
// current snapshot on first use.
func (bld *builder) list(b Binding) map[ID]entry {
	ref := patternRef{resourceType: b.ResourceType, key: patternKey{name: b.ResourceName, pattern: b.PatternType}}
	if work, ok := bld.working[ref]; ok {
		return work
	}
	var current []entry
	if ti := bld.old.types[b.ResourceType]; ti != nil {
		current = ti.lookup(bld.seed, b.ResourceName, b.PatternType)
	}
	work := make(map[ID]entry, len(current)+1)
	for _, e := range current {
		work[e.id] = e
	}
	bld.working[ref] = work
	return work
}

func (bld *builder) add(id ID, b Binding) {
	matchHost, _ := canonicalHost(b.Host) // validated by the caller
	bld.list(b)[id] = entry{
		id:         id,
		principal:  b.Principal,
		host:       b.Host,
		matchHost:  matchHost,
		operation:  b.Operation,
		permission: b.Permission,
	}
}

func (bld *builder) remove(id ID, b Binding) {
	delete(bld.list(b), id)
}

// typeIndex returns the next snapshot's index for rt, copied from the
// current one on first use so the current one stays untouched.
func (bld *builder) typeIndex(rt ResourceType) *typeIndex {
	if !bld.ownedType[rt] {
		ti := &typeIndex{}
		if old := bld.old.types[rt]; old != nil {
			*ti = *old
		}
		bld.next.types[rt] = ti
		bld.ownedType[rt] = true
	}
	return bld.next.types[rt]
}

// shard returns the next snapshot's shard for a name, cloned on first use.
func (bld *builder) shard(rt ResourceType, name string) map[patternKey][]entry {
	ti := bld.typeIndex(rt)
	i := shardOf(bld.seed, name)
	if !bld.ownedShard[rt][i] {
		ti.shards[i] = maps.Clone(ti.shards[i])
		if ti.shards[i] == nil {
			ti.shards[i] = make(map[patternKey][]entry)
		}
		bld.ownedShard[rt][i] = true
	}
	return ti.shards[i]
}

// finish writes the working entry lists into the next snapshot and returns
// it, ready to publish.
func (bld *builder) finish(prefixLengthCounts *[numResourceTypes]map[int]int) *snapshot {
	for ref, work := range bld.working {
		shard := bld.shard(ref.resourceType, ref.key.name)
		delta := len(work) - len(shard[ref.key])
		if len(work) == 0 {
			delete(shard, ref.key)
		} else {
			entries := slices.SortedFunc(maps.Values(work), compareEntries)
			shard[ref.key] = slices.Clip(entries)
		}
		bld.typeIndex(ref.resourceType).count += delta
		bld.next.count += delta
	}
	for rt, changed := range bld.prefixLengthsChanged {
		if changed {
			bld.typeIndex(ResourceType(rt)).prefixLengths = slices.Sorted(maps.Keys(prefixLengthCounts[rt]))
		}
	}
	for rt, owned := range bld.ownedType {
		if owned && bld.next.types[rt].count == 0 {
			bld.next.types[rt] = nil // keeps Authorize's fast path for types without bindings
		}
	}
	return bld.next
}
