package metadata

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net"
	"sort"
	"strconv"
	"strings"
)

// Voter is one member of the controller quorum, as an entry of Kafka's
// controller.quorum.voters: ID@HOST:PORT.
type Voter struct {
	NodeID int32
	Addr   string // HOST:PORT of the node's controller listener
}

// MaxVoters bounds --controllers: Raft quorums beyond a handful of voters
// only slow commits; Kafka recommends 3 or 5.
const MaxVoters = 9

// ParseVoters parses "1@host:9093,2@host:9094,...". Node ids and addresses
// must be distinct; the result is sorted by node id.
func ParseVoters(s string) ([]Voter, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	parts := strings.Split(s, ",")
	if len(parts) > MaxVoters {
		return nil, fmt.Errorf("%d controllers exceed the limit of %d", len(parts), MaxVoters)
	}
	out := make([]Voter, 0, len(parts))
	ids, addrs := map[int32]bool{}, map[string]bool{}
	for _, p := range parts {
		idText, addr, ok := strings.Cut(strings.TrimSpace(p), "@")
		if !ok {
			return nil, fmt.Errorf("controller %q: want ID@HOST:PORT", p)
		}
		id, err := strconv.ParseInt(idText, 10, 32)
		if err != nil || id < 0 {
			return nil, fmt.Errorf("controller %q: bad node id", p)
		}
		host, port, err := net.SplitHostPort(addr)
		if err != nil || host == "" {
			return nil, fmt.Errorf("controller %q: want ID@HOST:PORT", p)
		}
		if n, err := strconv.Atoi(port); err != nil || n <= 0 || n > 65535 {
			return nil, fmt.Errorf("controller %q: bad port", p)
		}
		if ids[int32(id)] || addrs[addr] {
			return nil, fmt.Errorf("controller %q: node id or address listed twice", p)
		}
		ids[int32(id)], addrs[addr] = true, true
		out = append(out, Voter{NodeID: int32(id), Addr: addr})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].NodeID < out[j].NodeID })
	return out, nil
}

// FormatVoters is the inverse of ParseVoters.
func FormatVoters(voters []Voter) string {
	parts := make([]string, len(voters))
	for i, v := range voters {
		parts[i] = fmt.Sprintf("%d@%s", v.NodeID, v.Addr)
	}
	return strings.Join(parts, ",")
}

// VoterAddr returns the address of node id in voters.
func VoterAddr(voters []Voter, id int32) (string, bool) {
	for _, v := range voters {
		if v.NodeID == id {
			return v.Addr, true
		}
	}
	return "", false
}

// clusterIDForVoters derives a cluster id from the voter list, so every node
// started with the same --controllers agrees on it without a format step
// (Kafka makes the operator pass one id to kafka-storage format on every
// node; cluster.id does the same here for those who want to choose it).
func clusterIDForVoters(voters []Voter) string {
	sum := sha256.Sum256([]byte("fjord-cluster:" + FormatVoters(voters)))
	return base64.RawURLEncoding.EncodeToString(sum[:16])
}

func serverID(id int32) string { return strconv.Itoa(int(id)) }
