package group

// reconciliation is the outcome of one reconciliation step of a member.
type reconciliation struct {
	memberEpoch   int32
	previousEpoch int32
	state         memberState
	assigned      assignment
	revoking      assignment
}

// reconcile moves a member one step towards its target assignment, as
// Kafka's CurrentAssignmentBuilder. owned is what the member reported it
// owns in this heartbeat, nil when it did not say. ownerEpoch tells whether
// a partition is held by any member (-1 when free).
//
// The rules: a member that must give up partitions stays at its epoch
// (UNREVOKED_PARTITIONS) until it reports them gone; only then it moves to
// the target epoch. A partition of its target that another member still
// holds is withheld (UNRELEASED_PARTITIONS) until released. A member
// reconciled to the target epoch is STABLE.
func reconcile(m *consumerMember, targetEpoch int32, target assignment, owned assignment, ownerEpoch func(topicID, int32) int32) reconciliation {
	unchanged := reconciliation{m.memberEpoch, m.previousEpoch, m.state, m.assigned, m.revoking}
	switch m.state {
	case memberStable:
		if m.memberEpoch == targetEpoch {
			return unchanged
		}
		return nextAssignment(m, m.memberEpoch, targetEpoch, target, owned, ownerEpoch)
	case memberUnrevoked:
		if ownsAny(owned, m.revoking) {
			return unchanged
		}
		return nextAssignment(m, min(m.memberEpoch+1, targetEpoch), targetEpoch, target, owned, ownerEpoch)
	default:
		return nextAssignment(m, m.memberEpoch, targetEpoch, target, owned, ownerEpoch)
	}
}

// nextAssignment is Kafka's computeNextAssignment: keep what is in both the
// current and the target assignment, revoke what the target dropped, add
// what the target gained and nobody holds.
func nextAssignment(m *consumerMember, epoch, targetEpoch int32, target, owned assignment, ownerEpoch func(topicID, int32) int32) reconciliation {
	assigned, revoking := assignment{}, assignment{}
	unreleased := false
	for t, ps := range m.assigned {
		for _, p := range ps {
			if target.has(t, p) {
				assigned.add(t, p)
			} else {
				revoking.add(t, p)
			}
		}
	}
	for _, t := range target.sortedTopics() {
		for _, p := range target[t] {
			if m.assigned.has(t, p) {
				continue
			}
			if ownerEpoch(t, p) == -1 {
				assigned.add(t, p)
			} else {
				unreleased = true
			}
		}
	}
	switch {
	case len(revoking) > 0 && ownsAny(owned, revoking):
		return reconciliation{epoch, m.memberEpoch, memberUnrevoked, assigned, revoking}
	case unreleased:
		return reconciliation{targetEpoch, m.memberEpoch, memberUnreleased, assigned, assignment{}}
	default:
		return reconciliation{targetEpoch, m.memberEpoch, memberStable, assigned, assignment{}}
	}
}

// ownsAny reports whether owned holds any partition of set; a member that
// did not report what it owns (nil) is assumed to still own everything.
func ownsAny(owned, set assignment) bool {
	if owned == nil {
		return len(set) > 0
	}
	for t, ps := range set {
		for _, p := range ps {
			if owned.has(t, p) {
				return true
			}
		}
	}
	return false
}
