package group

import "github.com/twmb/franz-go/pkg/kmsg"

// setErrorCode overwrites the error codes of a response the coordinator
// built, for when the records it depends on could not be written: every
// partition, member and group in it fails with code.
func setErrorCode(resp kmsg.Response, code int16) {
	switch r := resp.(type) {
	case *kmsg.JoinGroupResponse:
		r.ErrorCode, r.Members = code, nil
	case *kmsg.SyncGroupResponse:
		r.ErrorCode, r.MemberAssignment = code, nil
	case *kmsg.HeartbeatResponse:
		r.ErrorCode = code
	case *kmsg.LeaveGroupResponse:
		r.ErrorCode = code
	case *kmsg.OffsetCommitResponse:
		for i := range r.Topics {
			for j := range r.Topics[i].Partitions {
				r.Topics[i].Partitions[j].ErrorCode = code
			}
		}
	case *kmsg.TxnOffsetCommitResponse:
		for i := range r.Topics {
			for j := range r.Topics[i].Partitions {
				r.Topics[i].Partitions[j].ErrorCode = code
			}
		}
	case *kmsg.OffsetFetchResponse:
		r.ErrorCode = code
		for i := range r.Topics {
			for j := range r.Topics[i].Partitions {
				r.Topics[i].Partitions[j].ErrorCode = code
			}
		}
		for i := range r.Groups {
			r.Groups[i].ErrorCode = code
		}
	case *kmsg.OffsetDeleteResponse:
		r.ErrorCode = code
	case *kmsg.ListGroupsResponse:
		r.ErrorCode = code
	case *kmsg.DescribeGroupsResponse:
		for i := range r.Groups {
			r.Groups[i].ErrorCode = code
		}
	case *kmsg.DeleteGroupsResponse:
		for i := range r.Groups {
			r.Groups[i].ErrorCode = code
		}
	case *kmsg.ConsumerGroupHeartbeatResponse:
		r.ErrorCode, r.ErrorMessage, r.Assignment = code, nil, nil
	case *kmsg.ConsumerGroupDescribeResponse:
		for i := range r.Groups {
			r.Groups[i].ErrorCode = code
		}
	}
}
