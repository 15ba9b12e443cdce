package metadata

import "sort"

// Image is the cluster metadata after applying the log up to Offset. An
// Image is immutable once built: every accessor returns data shared with the
// image, which callers must treat as read-only. Apply builds new images.
type Image struct {
	offset         uint64
	clusterID      string
	topics         map[string]*TopicImage // by name
	topicNames     map[[16]byte]string    // topic id -> name
	collisions     map[string]string      // collisionKey -> name
	brokers        map[int32]BrokerImage
	brokerConfigs  map[string]map[string]string // "" = cluster default, else node id
	nextProducerID int64
	security       securityImage
}

// TopicImage is one topic. Partitions are indexed by partition number.
type TopicImage struct {
	Name       string
	ID         [16]byte
	Partitions []PartitionImage
	Configs    map[string]string // overrides only; config.ResolveTopic gives effective values
}

// PartitionImage is one partition's replica placement and leadership.
type PartitionImage struct {
	Partition      int32
	Replicas       []int32
	ISR            []int32
	Leader         int32
	LeaderEpoch    int32
	PartitionEpoch int32
	// Unclean says the leader was elected from outside the ISR.
	Unclean bool `json:",omitempty"`
	// AddingReplicas and RemovingReplicas are set while a reassignment
	// runs (see PartitionRecord).
	AddingReplicas   []int32 `json:",omitempty"`
	RemovingReplicas []int32 `json:",omitempty"`
}

// BrokerImage is one registered broker. Epoch is the Raft index of its
// latest registration, which grows on each re-registration as Kafka's broker
// epoch does. A fenced broker (heartbeats stopped, or shut down) stays
// registered but is left out of Metadata responses and replica placement;
// registering again unfences it.
type BrokerImage struct {
	NodeID      int32
	Host        string
	Port        int32
	Rack        string
	Incarnation [16]byte
	Epoch       int64
	Fenced      bool             `json:",omitempty"`
	Endpoints   []BrokerEndpoint `json:",omitempty"`
}

// Endpoint returns where clients that came in on the listener called name
// reach the broker. A broker registered without endpoints answers at its
// one address on every listener; one with endpoints but none of that name
// is not reachable from there (Kafka leaves it out of Metadata).
func (b BrokerImage) Endpoint(name string) (host string, port int32, ok bool) {
	if len(b.Endpoints) == 0 || name == "" {
		return b.Host, b.Port, true
	}
	for _, e := range b.Endpoints {
		if e.Name == name {
			return e.Host, e.Port, true
		}
	}
	return "", 0, false
}

// NewImage returns the empty image of a cluster.
func NewImage(clusterID string) *Image {
	return &Image{
		clusterID:     clusterID,
		topics:        map[string]*TopicImage{},
		topicNames:    map[[16]byte]string{},
		collisions:    map[string]string{},
		brokers:       map[int32]BrokerImage{},
		brokerConfigs: map[string]map[string]string{},
	}
}

// Offset is the Raft index of the last applied log entry.
func (img *Image) Offset() uint64 { return img.offset }

// ClusterID is the cluster's id, as Kafka's base64 uuid.
func (img *Image) ClusterID() string { return img.clusterID }

// NextProducerID is the first producer id not yet handed out.
func (img *Image) NextProducerID() int64 { return img.nextProducerID }

// Topic returns a topic by name.
func (img *Image) Topic(name string) (TopicImage, bool) {
	t, ok := img.topics[name]
	if !ok {
		return TopicImage{}, false
	}
	return *t, true
}

// TopicByID returns a topic by id.
func (img *Image) TopicByID(id [16]byte) (TopicImage, bool) {
	name, ok := img.topicNames[id]
	if !ok {
		return TopicImage{}, false
	}
	return img.Topic(name)
}

// Topics returns all topics sorted by name.
func (img *Image) Topics() []TopicImage {
	out := make([]TopicImage, 0, len(img.topics))
	for _, t := range img.topics {
		out = append(out, *t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Brokers returns all registered brokers, fenced ones included, sorted by
// node id.
func (img *Image) Brokers() []BrokerImage {
	out := make([]BrokerImage, 0, len(img.brokers))
	for _, b := range img.brokers {
		out = append(out, b)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].NodeID < out[j].NodeID })
	return out
}

// Broker returns a registered broker.
func (img *Image) Broker(id int32) (BrokerImage, bool) {
	b, ok := img.brokers[id]
	return b, ok
}

// BrokerConfigs returns the dynamic configs of a broker resource: name "" is
// the cluster-wide default, otherwise a node id in decimal. The map is nil
// when none is set.
func (img *Image) BrokerConfigs(name string) map[string]string {
	return img.brokerConfigs[name]
}
