package metrics

import "github.com/twmb/franz-go/pkg/kmsg"

// Wrapped is a response that carries a kmsg response inside another type
// (a Fetch response whose records are spliced from files): its errors are
// those of the one inside.
type Wrapped interface {
	Unwrap() kmsg.Response
}

// countErrors calls count for each non-zero error code in resp: the
// top-level code and those of each topic, partition, group or member,
// as Kafka's errorCounts does. Only the fields are read; nothing is
// allocated. APIs not listed here count no errors.
func countErrors(resp kmsg.Response, count func(code int16)) {
	if w, ok := resp.(Wrapped); ok {
		resp = w.Unwrap()
	}
	c := func(code int16) {
		if code != 0 {
			count(code)
		}
	}
	switch r := resp.(type) {
	case *kmsg.ProduceResponse:
		for i := range r.Topics {
			for j := range r.Topics[i].Partitions {
				c(r.Topics[i].Partitions[j].ErrorCode)
			}
		}
	case *kmsg.FetchResponse:
		c(r.ErrorCode)
		for i := range r.Topics {
			for j := range r.Topics[i].Partitions {
				c(r.Topics[i].Partitions[j].ErrorCode)
			}
		}
	case *kmsg.ListOffsetsResponse:
		for i := range r.Topics {
			for j := range r.Topics[i].Partitions {
				c(r.Topics[i].Partitions[j].ErrorCode)
			}
		}
	case *kmsg.MetadataResponse:
		for i := range r.Topics {
			c(r.Topics[i].ErrorCode)
			for j := range r.Topics[i].Partitions {
				c(r.Topics[i].Partitions[j].ErrorCode)
			}
		}
	default:
		countGroupErrors(resp, c)
	}
}

// countGroupErrors covers the group and offset APIs.
func countGroupErrors(resp kmsg.Response, c func(int16)) {
	switch r := resp.(type) {
	case *kmsg.OffsetCommitResponse:
		for i := range r.Topics {
			for j := range r.Topics[i].Partitions {
				c(r.Topics[i].Partitions[j].ErrorCode)
			}
		}
	case *kmsg.OffsetFetchResponse:
		c(r.ErrorCode)
		for i := range r.Topics {
			for j := range r.Topics[i].Partitions {
				c(r.Topics[i].Partitions[j].ErrorCode)
			}
		}
		for g := range r.Groups {
			c(r.Groups[g].ErrorCode)
			for i := range r.Groups[g].Topics {
				for j := range r.Groups[g].Topics[i].Partitions {
					c(r.Groups[g].Topics[i].Partitions[j].ErrorCode)
				}
			}
		}
	case *kmsg.FindCoordinatorResponse:
		c(r.ErrorCode)
		for i := range r.Coordinators {
			c(r.Coordinators[i].ErrorCode)
		}
	case *kmsg.JoinGroupResponse:
		c(r.ErrorCode)
	case *kmsg.SyncGroupResponse:
		c(r.ErrorCode)
	case *kmsg.HeartbeatResponse:
		c(r.ErrorCode)
	case *kmsg.LeaveGroupResponse:
		c(r.ErrorCode)
		for i := range r.Members {
			c(r.Members[i].ErrorCode)
		}
	case *kmsg.ConsumerGroupHeartbeatResponse:
		c(r.ErrorCode)
	case *kmsg.DescribeGroupsResponse:
		for i := range r.Groups {
			c(r.Groups[i].ErrorCode)
		}
	case *kmsg.ListGroupsResponse:
		c(r.ErrorCode)
	case *kmsg.DeleteGroupsResponse:
		for i := range r.Groups {
			c(r.Groups[i].ErrorCode)
		}
	default:
		countAdminErrors(resp, c)
	}
}

// countAdminErrors covers the topic, transaction and connection APIs.
func countAdminErrors(resp kmsg.Response, c func(int16)) {
	switch r := resp.(type) {
	case *kmsg.CreateTopicsResponse:
		for i := range r.Topics {
			c(r.Topics[i].ErrorCode)
		}
	case *kmsg.DeleteTopicsResponse:
		for i := range r.Topics {
			c(r.Topics[i].ErrorCode)
		}
	case *kmsg.CreatePartitionsResponse:
		for i := range r.Topics {
			c(r.Topics[i].ErrorCode)
		}
	case *kmsg.DeleteRecordsResponse:
		for i := range r.Topics {
			for j := range r.Topics[i].Partitions {
				c(r.Topics[i].Partitions[j].ErrorCode)
			}
		}
	case *kmsg.OffsetForLeaderEpochResponse:
		for i := range r.Topics {
			for j := range r.Topics[i].Partitions {
				c(r.Topics[i].Partitions[j].ErrorCode)
			}
		}
	case *kmsg.InitProducerIDResponse:
		c(r.ErrorCode)
	case *kmsg.AddOffsetsToTxnResponse:
		c(r.ErrorCode)
	case *kmsg.EndTxnResponse:
		c(r.ErrorCode)
	case *kmsg.TxnOffsetCommitResponse:
		for i := range r.Topics {
			for j := range r.Topics[i].Partitions {
				c(r.Topics[i].Partitions[j].ErrorCode)
			}
		}
	case *kmsg.AddPartitionsToTxnResponse:
		c(r.ErrorCode)
		for i := range r.Topics {
			for j := range r.Topics[i].Partitions {
				c(r.Topics[i].Partitions[j].ErrorCode)
			}
		}
		for t := range r.Transactions {
			for i := range r.Transactions[t].Topics {
				for j := range r.Transactions[t].Topics[i].Partitions {
					c(r.Transactions[t].Topics[i].Partitions[j].ErrorCode)
				}
			}
		}
	case *kmsg.ApiVersionsResponse:
		c(r.ErrorCode)
	case *kmsg.SASLHandshakeResponse:
		c(r.ErrorCode)
	case *kmsg.SASLAuthenticateResponse:
		c(r.ErrorCode)
	case *kmsg.DescribeConfigsResponse:
		for i := range r.Resources {
			c(r.Resources[i].ErrorCode)
		}
	case *kmsg.IncrementalAlterConfigsResponse:
		for i := range r.Resources {
			c(r.Resources[i].ErrorCode)
		}
	case *kmsg.AlterConfigsResponse:
		for i := range r.Resources {
			c(r.Resources[i].ErrorCode)
		}
	case *kmsg.DescribeClusterResponse:
		c(r.ErrorCode)
	}
}
