package streams

import (
	"context"
	"errors"
	"slices"

	"github.com/fjordhq/fjord/streams/internal/assign"
	"github.com/fjordhq/fjord/streams/internal/store"
)

func taskIDs(ids []assign.TaskID) []TaskID {
	out := make([]TaskID, len(ids))
	for i, id := range ids {
		out[i] = TaskID{Subtopology: id.Subtopology, Partition: id.Partition}
	}
	return out
}

// setStandbys makes the thread's standby tasks those of the assignment:
// standbys no longer wanted close, new ones open and start following their
// changelogs. A standby that becomes active here stays open for openTasks
// to promote.
func (th *streamThread) setStandbys(ctx context.Context, standby, active []TaskID) error {
	var errs []error
	for id, sb := range th.standbys {
		if slices.Contains(standby, id) || slices.Contains(active, id) {
			continue
		}
		th.restorer.unfollow(changelogsOf(sb.stores, id.Partition))
		errs = append(errs, sb.close())
		th.app.taskLocks.release(id, th.index)
		delete(th.standbys, id)
	}
	for _, id := range standby {
		if _, ok := th.standbys[id]; ok {
			continue
		}
		sub, err := th.app.subtopology(id)
		if err != nil {
			return err
		}
		if !th.app.stateful(sub) {
			continue
		}
		if err := th.app.taskLocks.acquire(ctx, id, th.index); err != nil {
			return err
		}
		sb, err := openStandby(th.env, sub, id.Partition, nil)
		if err != nil {
			th.app.taskLocks.release(id, th.index)
			return err
		}
		th.standbys[id] = sb
		if err := th.restorer.follow(ctx, changelogsOf(sb.stores, id.Partition)); err != nil {
			return err
		}
	}
	return errors.Join(errs...)
}

// promoteStandby hands a standby's store engines to the active task taking
// its place, after committing what it has read; nil when there is none.
func (th *streamThread) promoteStandby(id TaskID) map[string]store.KeyValue {
	sb, ok := th.standbys[id]
	if !ok {
		return nil
	}
	logs := changelogsOf(sb.stores, id.Partition)
	if err := th.restorer.commitFollowed(); err != nil {
		th.app.logf("streams: %s: commit standby %s: %v", th.name(), id, err)
	}
	th.restorer.unfollow(logs)
	delete(th.standbys, id)
	return sb.engines()
}

func (th *streamThread) closeStandbys() error {
	var errs []error
	errs = append(errs, th.restorer.commitFollowed())
	for id, sb := range th.standbys {
		th.restorer.unfollow(changelogsOf(sb.stores, id.Partition))
		th.app.saveOffsetSum(sb)
		errs = append(errs, sb.close())
		th.app.taskLocks.release(id, th.index)
		delete(th.standbys, id)
	}
	return errors.Join(errs...)
}
