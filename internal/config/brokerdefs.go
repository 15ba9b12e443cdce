package config

// maxInt is Java's Integer.MAX_VALUE, Kafka's "no limit" for int configs.
const maxInt = "2147483647"

// BrokerDefs returns the definitions of every broker config fjord knows,
// sorted by name: the broker's own configs and the broker synonyms of topic
// configs (log.retention.ms ...), which act as the cluster's topic defaults.
func BrokerDefs() []Def {
	defs := brokerOwnDefs()
	defs = append(defs, throttleRateDefs()...)
	defs = append(defs, topicSynonymDefs()...)
	return sortedDefs(defs)
}

// topicSynonymDefs derives a broker def for each broker synonym of a topic
// config. The primary synonym shares the topic config's type, default and
// validation and is dynamically updatable cluster-wide, as in Kafka. Where a
// config has scaled synonyms (log.retention.hours), the primary has no default
// and the last scaled one carries it, so Kafka's precedence works unchanged.
func topicSynonymDefs() []Def {
	scaled := map[string]Def{
		"log.retention.minutes": {Type: Int},
		"log.retention.hours":   {Type: Int, Default: "168", HasDefault: true},
		"log.roll.hours":        {Type: Int, Default: "168", HasDefault: true, Validate: atLeast(1)},
		"log.roll.jitter.hours": {Type: Int, Default: "0", HasDefault: true, Validate: atLeast(0)},
		"log.flush.scheduler.interval.ms": {Type: Long, Default: maxLong, HasDefault: true,
			Validate: atLeast(0)},
	}
	var out []Def
	for _, t := range TopicDefs() {
		if t.BrokerSynonym == "" {
			continue
		}
		primary := Def{Name: t.BrokerSynonym, Type: t.Type, Default: t.Default, HasDefault: t.HasDefault,
			Doc: "Cluster default of the topic config " + t.Name + ". " + t.Doc, Validate: t.Validate}
		if len(t.MoreSynonyms) > 0 {
			primary.Default, primary.HasDefault = "", false
		}
		out = append(out, primary)
		for _, s := range t.MoreSynonyms {
			d := scaled[s.Name]
			d.Name = s.Name
			d.Doc = "Cluster default of " + t.Name + " in a coarser unit; " + t.BrokerSynonym + " takes precedence."
			d.ReadOnly = true
			out = append(out, d)
		}
	}
	return out
}

func brokerOwnDefs() []Def {
	return []Def{
		{Name: "node.id", Type: Int, Default: "1", HasDefault: true, ReadOnly: true, Validate: atLeast(0),
			Doc: "This node's id in the metadata quorum. fjord defaults to 1 so a single node starts without configuration."},
		{Name: "broker.id", Type: Int, Default: "-1", HasDefault: true, ReadOnly: true,
			Doc: "Legacy name of node.id, used only when node.id is not set."},
		{Name: "listeners", Type: List, Default: "PLAINTEXT://:9092", HasDefault: true, ReadOnly: true,
			Validate: listenerList, Doc: "Addresses the broker listens on, as NAME://host:port."},
		{Name: "advertised.listeners", Type: List, ReadOnly: true, Validate: listenerList,
			Doc: "Addresses clients are told to connect to, as NAME://host:port per listener; a listener's own address when not set."},
		{Name: "listener.security.protocol.map", Type: List, Default: defaultProtocolMap, HasDefault: true, ReadOnly: true,
			Doc: "Security protocol of each listener name, as NAME:PROTOCOL (PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL)."},
		{Name: "inter.broker.listener.name", Type: String, ReadOnly: true,
			Doc: "Listener other brokers connect to this one on; the first of listeners when not set."},
		{Name: "log.dirs", Type: String, ReadOnly: true,
			Doc: "Data directory (fjord uses one); log.dir when not set."},
		{Name: "log.dir", Type: String, Default: "/tmp/fjord-logs", HasDefault: true, ReadOnly: true,
			Doc: "Data directory when log.dirs is not set. Not Kafka's /tmp/kafka-logs, so a Kafka on the same machine is never touched."},
		{Name: "auto.create.topics.enable", Type: Boolean, Default: "true", HasDefault: true, ReadOnly: true,
			Doc: "Create a topic when a client asks for its metadata."},
		{Name: "num.partitions", Type: Int, Default: "1", HasDefault: true, Validate: atLeast(1), ReadOnly: true,
			Doc: "Partitions of a topic created without a partition count."},
		{Name: "default.replication.factor", Type: Int, Default: "1", HasDefault: true, Validate: between(1, 32767), ReadOnly: true,
			Doc: "Replication factor of a topic created without one."},
		{Name: "delete.topic.enable", Type: Boolean, Default: "true", HasDefault: true, ReadOnly: true,
			Doc: "Allow DeleteTopics."},
		{Name: "socket.request.max.bytes", Type: Int, Default: "104857600", HasDefault: true, Validate: atLeast(1), ReadOnly: true,
			Doc: "Largest request frame accepted; larger frames close the connection."},
		{Name: "max.connections", Type: Int, Default: maxInt, HasDefault: true, Validate: atLeast(0),
			Doc: "Most connections the broker accepts at once."},
		{Name: "max.connections.per.ip", Type: Int, Default: maxInt, HasDefault: true, Validate: atLeast(0),
			Doc: "Most connections from one IP address."},
		{Name: "max.connections.per.ip.overrides", Type: String, ReadOnly: true,
			Doc: "Per-IP exceptions to max.connections.per.ip, as host:count,host:count."},
		{Name: "max.connection.creation.rate", Type: Int, Default: maxInt, HasDefault: true, Validate: atLeast(0), ReadOnly: true,
			Doc: "New connections per second the broker accepts; faster ones wait in the accept queue."},
		{Name: "queued.max.requests", Type: Int, Default: "500", HasDefault: true, Validate: atLeast(1), ReadOnly: true,
			Doc: "Requests read in full and being handled at once, over all connections; connections wait to be read beyond it."},
		{Name: "queued.max.request.bytes", Type: Long, Default: "268435456", HasDefault: true, ReadOnly: true,
			Doc: "Bytes of request frames held at once (being read or handled) before connections stop being read; -1 is no limit. A frame takes memory as its bytes arrive, and one frame is still admitted while any memory is left, so the largest request fits. Kafka's default is -1; fjord bounds it by default so that many clients cannot exhaust memory together."},
		{Name: "connections.max.idle.ms", Type: Long, Default: "600000", HasDefault: true, Validate: atLeast(1), ReadOnly: true,
			Doc: "Idle time after which a connection is closed."},
		{Name: "fetch.max.bytes", Type: Int, Default: "57671680", HasDefault: true, Validate: atLeast(1024), ReadOnly: true,
			Doc: "Largest fetch response the broker builds."},
		{Name: "log.cleaner.enable", Type: Boolean, Default: "true", HasDefault: true, ReadOnly: true,
			Doc: "Run the log cleaner, which compacts topics with cleanup.policy=compact."},
		{Name: "log.cleaner.backoff.ms", Type: Long, Default: "15000", HasDefault: true, Validate: atLeast(0), ReadOnly: true,
			Doc: "How long the cleaner sleeps when no log needs cleaning."},
		{Name: "log.cleaner.dedupe.buffer.size", Type: Long, Default: "33554432", HasDefault: true, Validate: atLeast(1024), ReadOnly: true,
			Doc: "Memory of the cleaner's key-to-offset map. fjord's default is 32 MiB (Kafka's 128 MiB is shared by several cleaner threads; fjord runs one); logs with more keys are cleaned in several passes."},
		{Name: "log.retention.check.interval.ms", Type: Long, Default: "300000", HasDefault: true, Validate: atLeast(1), ReadOnly: true,
			Doc: "How often retention runs."},
		{Name: "producer.id.expiration.ms", Type: Int, Default: "86400000", HasDefault: true, Validate: atLeast(1),
			Doc: "Time after a producer's last write before its id state expires."},
		{Name: "transactional.id.expiration.ms", Type: Int, Default: "604800000", HasDefault: true, Validate: atLeast(1), ReadOnly: true,
			Doc: "Time without update after which a transactional id expires."},
		{Name: "transaction.max.timeout.ms", Type: Int, Default: "900000", HasDefault: true, Validate: atLeast(1), ReadOnly: true,
			Doc: "Largest transaction timeout a producer may ask for."},
		{Name: "transaction.state.log.num.partitions", Type: Int, Default: "50", HasDefault: true, Validate: atLeast(1), ReadOnly: true,
			Doc: "Partitions of __transaction_state."},
		{Name: "transaction.state.log.replication.factor", Type: Short, Default: "3", HasDefault: true, Validate: atLeast(1), ReadOnly: true,
			Doc: "Replication factor of __transaction_state, capped at the live brokers when it is created."},
		{Name: "transaction.state.log.min.isr", Type: Int, Default: "2", HasDefault: true, Validate: atLeast(1), ReadOnly: true,
			Doc: "min.insync.replicas of __transaction_state, capped at its replication factor."},
		{Name: "transaction.partition.verification.enable", Type: Boolean, Default: "true", HasDefault: true, ReadOnly: true,
			Doc: "Verify with the transaction coordinator that a partition is in a producer's transaction before its first transactional batch there (KIP-890)."},
		{Name: "transaction.version", Type: Short, Default: "2", HasDefault: true, Validate: between(0, 2), ReadOnly: true,
			Doc: "The transaction.version feature level the broker finalizes (Kafka sets it with kafka-features or kafka-storage format --feature; every broker of a cluster must agree): 2 lets clients use KIP-890 part 2 transactions, 0 or 1 keeps them at part 1."},
		{Name: "offsets.topic.num.partitions", Type: Int, Default: "50", HasDefault: true, Validate: atLeast(1), ReadOnly: true,
			Doc: "Partitions of __consumer_offsets."},
		{Name: "offsets.topic.replication.factor", Type: Short, Default: "3", HasDefault: true, Validate: atLeast(1), ReadOnly: true,
			Doc: "Replication factor of __consumer_offsets, capped at the live brokers when it is created."},
		{Name: "offsets.retention.minutes", Type: Int, Default: "10080", HasDefault: true, Validate: atLeast(1), ReadOnly: true,
			Doc: "How long committed offsets of an empty group are kept."},
		{Name: "offset.metadata.max.bytes", Type: Int, Default: "4096", HasDefault: true, ReadOnly: true,
			Doc: "Largest metadata string of a committed offset."},
		{Name: "group.initial.rebalance.delay.ms", Type: Int, Default: "3000", HasDefault: true, Validate: atLeast(0), ReadOnly: true,
			Doc: "Delay before the first rebalance of a new group, so more members can join."},
		{Name: "group.min.session.timeout.ms", Type: Int, Default: "6000", HasDefault: true, ReadOnly: true,
			Doc: "Shortest session timeout a member may ask for."},
		{Name: "group.max.session.timeout.ms", Type: Int, Default: "1800000", HasDefault: true, ReadOnly: true,
			Doc: "Longest session timeout a member may ask for."},
		{Name: "group.max.size", Type: Int, Default: maxInt, HasDefault: true, Validate: atLeast(1), ReadOnly: true,
			Doc: "Most members of one group."},
		{Name: "broker.rack", Type: String, ReadOnly: true,
			Doc: "This broker's rack: replicas of a partition are spread over racks."},
		{Name: "process.roles", Type: List, Default: "broker,controller", HasDefault: true, ReadOnly: true,
			Doc: "broker,controller (combined, a quorum voter) or broker (joins the quorum as a non-voter)."},
		{Name: "controller.quorum.voters", Type: List, ReadOnly: true,
			Doc: "The metadata quorum's voters as id@host:port; empty runs a one-node quorum in process."},
		{Name: "controller.listener", Type: String, ReadOnly: true,
			Doc: "host:port of this node's controller port (Raft and forwarded operations); its entry in controller.quorum.voters when not set."},
		{Name: "cluster.id", Type: String, ReadOnly: true,
			Doc: "The cluster's id; derived from controller.quorum.voters, or random for a single node, when not set."},
		{Name: "broker.heartbeat.interval.ms", Type: Int, Default: "2000", HasDefault: true, Validate: atLeast(1), ReadOnly: true,
			Doc: "How often a broker heartbeats to the controller."},
		{Name: "broker.session.timeout.ms", Type: Int, Default: "9000", HasDefault: true, Validate: atLeast(1), ReadOnly: true,
			Doc: "A broker that has not heartbeated for this long is fenced and loses its leaderships."},
		{Name: "auto.leader.rebalance.enable", Type: Boolean, Default: "true", HasDefault: true, ReadOnly: true,
			Doc: "Move leadership back to each partition's preferred replica when it is in sync."},
		{Name: "leader.imbalance.check.interval.seconds", Type: Long, Default: "300", HasDefault: true, Validate: atLeast(1), ReadOnly: true,
			Doc: "How often the controller checks for partitions not led by their preferred replica."},
		{Name: "group.consumer.session.timeout.ms", Type: Int, Default: "45000", HasDefault: true, Validate: atLeast(1), ReadOnly: true,
			Doc: "Session timeout of KIP-848 consumer group members."},
		{Name: "group.consumer.heartbeat.interval.ms", Type: Int, Default: "5000", HasDefault: true, Validate: atLeast(1), ReadOnly: true,
			Doc: "Heartbeat interval the coordinator gives KIP-848 consumer group members."},
		{Name: "group.consumer.assignors", Type: List, Default: "uniform,range", HasDefault: true, ReadOnly: true,
			Doc: "Server-side assignors of KIP-848 consumer groups, the first the default."},
		{Name: "replica.lag.time.max.ms", Type: Long, Default: "30000", HasDefault: true, Validate: atLeast(1), ReadOnly: true,
			Doc: "A follower not caught up for this long leaves the ISR."},
		{Name: "replica.high.watermark.checkpoint.interval.ms", Type: Long, Default: "5000", HasDefault: true, Validate: atLeast(1), ReadOnly: true,
			Doc: "How often each replica's high watermark is saved to replication-offset-checkpoint, where a restarted replica resumes it."},
		{Name: "replica.fetch.backoff.ms", Type: Int, Default: "50", HasDefault: true, Validate: atLeast(1), ReadOnly: true,
			Doc: "Pause of a follower after a refused fetch. Kafka's default is 1000; fjord's is 50 because a refusal usually means the leader has not applied the newest metadata yet, which takes milliseconds, while acks=all producers wait."},
		{Name: "replica.fetch.min.bytes", Type: Int, Default: "1", HasDefault: true, Validate: atLeast(1), ReadOnly: true,
			Doc: "Bytes a follower fetch waits for, up to replica.fetch.wait.max.ms."},
		{Name: "replica.fetch.max.bytes", Type: Int, Default: "1048576", HasDefault: true, Validate: atLeast(0), ReadOnly: true,
			Doc: "Bytes a follower asks per partition."},
		{Name: "replica.fetch.response.max.bytes", Type: Int, Default: "10485760", HasDefault: true, Validate: atLeast(0), ReadOnly: true,
			Doc: "Bytes a follower asks per fetch response."},
		{Name: "replica.fetch.wait.max.ms", Type: Int, Default: "500", HasDefault: true, Validate: atLeast(0), ReadOnly: true,
			Doc: "Longest time a follower fetch waits on the leader."},
		{Name: "num.replica.fetchers", Type: Int, Default: "1", HasDefault: true, Validate: atLeast(1),
			Doc: "Fetcher goroutines per source broker."},
		{Name: "quota.window.num", Type: Int, Default: "11", HasDefault: true, Validate: atLeast(1), ReadOnly: true,
			Doc: "Samples kept of each client's produce, fetch and request-time rate."},
		{Name: "quota.window.size.seconds", Type: Int, Default: "1", HasDefault: true, Validate: atLeast(1), ReadOnly: true,
			Doc: "Time span of one sample of a client quota rate."},
		{Name: "controller.quota.window.num", Type: Int, Default: "11", HasDefault: true, Validate: atLeast(1), ReadOnly: true,
			Doc: "Samples kept of each client's controller mutation rate."},
		{Name: "controller.quota.window.size.seconds", Type: Int, Default: "1", HasDefault: true, Validate: atLeast(1), ReadOnly: true,
			Doc: "Time span of one sample of the controller mutation rate."},
		{Name: "authorizer.class.name", Type: String, ReadOnly: true,
			Doc: "Turns ACLs on when it names Kafka's authorizer (org.apache.kafka.metadata.authorizer.StandardAuthorizer); no class is loaded. Off by default, as Kafka: every principal may do everything."},
		{Name: "super.users", Type: String, ReadOnly: true,
			Doc: "Principals allowed everything whatever the ACLs say, separated by semicolons: User:admin;User:broker."},
		{Name: "allow.everyone.if.no.acl.found", Type: Boolean, Default: "false", HasDefault: true, ReadOnly: true,
			Doc: "With ACLs on, allow an operation on a resource that no ACL names at all."},
		{Name: "sasl.enabled.mechanisms", Type: List, Default: "SCRAM-SHA-512,SCRAM-SHA-256", HasDefault: true, ReadOnly: true,
			Doc: "SASL mechanisms of SASL listeners: PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, OAUTHBEARER. Kafka's default, GSSAPI (Kerberos), is not supported."},
		{Name: "controller.listener.security.protocol", Type: String, Default: "PLAINTEXT", HasDefault: true, ReadOnly: true,
			Doc: "PLAINTEXT or SSL for the controller listener (Raft and forwarded controller operations). SSL is mutual TLS with listener.name.controller.ssl.* (else ssl.*): client certificates are always required, so only the cluster's nodes connect. Kafka names the controller listener in controller.listener.names and maps its protocol in listener.security.protocol.map."},
		{Name: "sasl.mechanism.inter.broker.protocol", Type: String, ReadOnly: true,
			Doc: "SASL mechanism brokers authenticate to each other with on a SASL inter-broker listener; the listener's first enabled mechanism when not set. Credentials: the username and password options of listener.name.<listener>.<mechanism>.sasl.jaas.config."},
		{Name: "sasl.without.tls.allowed", Type: Boolean, Default: "false", HasDefault: true, ReadOnly: true,
			Doc: "Allow PLAIN and SCRAM on SASL_PLAINTEXT listeners, where passwords (PLAIN) or the material for an offline guess (SCRAM) cross the network unencrypted. fjord refuses to start such a listener unless this is set; Kafka has no such check."},
		{Name: "connections.max.reauth.ms", Type: Long, Default: "0", HasDefault: true, Validate: atLeast(0), ReadOnly: true,
			Doc: "Longest SASL session before the client must re-authenticate (KIP-368); 0 leaves sessions without an end but an OAUTHBEARER token's expiry."},
		{Name: "sasl.oauthbearer.jwks.endpoint.url", Type: String, ReadOnly: true,
			Doc: "Where OAUTHBEARER's token signing keys are: a file: URL of a JWKS document, re-read when it changes, or an https: URL listed in org.apache.kafka.sasl.oauthbearer.allowed.urls."},
		{Name: "org.apache.kafka.sasl.oauthbearer.allowed.urls", Type: List, ReadOnly: true,
			Doc: "The https: URLs the broker may fetch JWKS documents from (a JVM system property in Kafka 4, a broker property here); none by default."},
		{Name: "sasl.oauthbearer.jwks.endpoint.refresh.ms", Type: Long, Default: "3600000", HasDefault: true, Validate: atLeast(1), ReadOnly: true,
			Doc: "How often an https: JWKS is fetched again."},
		{Name: "sasl.oauthbearer.expected.audience", Type: List, ReadOnly: true,
			Doc: "Audiences a token must name one of (aud); any when empty."},
		{Name: "sasl.oauthbearer.expected.issuer", Type: String, ReadOnly: true,
			Doc: "Issuer a token must have (iss); any when empty."},
		{Name: "sasl.oauthbearer.sub.claim.name", Type: String, Default: "sub", HasDefault: true, ReadOnly: true,
			Doc: "Claim that names the principal."},
		{Name: "sasl.oauthbearer.scope.claim.name", Type: String, Default: "scope", HasDefault: true, ReadOnly: true,
			Doc: "Claim that holds the token's scopes."},
		{Name: "sasl.oauthbearer.clock.skew.seconds", Type: Int, Default: "30", HasDefault: true, Validate: atLeast(0), ReadOnly: true,
			Doc: "Clock difference tolerated when checking a token's times."},
		{Name: "ssl.keystore.type", Type: String, Default: "PEM", HasDefault: true, ReadOnly: true,
			Doc: "Format of the key store: PEM (a private key and its certificate chain). Kafka's default, JKS, and PKCS12 are not read; convert them with keytool and openssl."},
		{Name: "ssl.keystore.location", Type: String, ReadOnly: true, Doc: "PEM file with the listener's private key and certificate chain, re-read when it changes."},
		{Name: "ssl.keystore.certificate.chain", Type: String, ReadOnly: true, Doc: "The certificate chain in PEM, instead of a key store file."},
		{Name: "ssl.keystore.key", Type: Password, Sensitive: true, ReadOnly: true, Doc: "The private key in PEM, instead of a key store file."},
		{Name: "ssl.truststore.type", Type: String, Default: "PEM", HasDefault: true, ReadOnly: true, Doc: "Format of the trust store: PEM."},
		{Name: "ssl.truststore.location", Type: String, ReadOnly: true, Doc: "PEM file of the CA certificates trusted for client certificates, re-read when it changes."},
		{Name: "ssl.truststore.certificates", Type: String, ReadOnly: true, Doc: "The trusted CA certificates in PEM, instead of a trust store file."},
		{Name: "ssl.client.auth", Type: String, Default: "none", HasDefault: true, ReadOnly: true,
			Doc: "Client certificates: required (mutual TLS), requested (checked when sent) or none."},
		{Name: "ssl.enabled.protocols", Type: List, Default: "TLSv1.2,TLSv1.3", HasDefault: true, ReadOnly: true,
			Doc: "TLS versions enabled; only TLSv1.2 and TLSv1.3 exist in fjord."},
		{Name: "ssl.protocol", Type: String, Default: "TLSv1.3", HasDefault: true, ReadOnly: true, Doc: "Highest TLS version a client offers."},
		{Name: "ssl.cipher.suites", Type: List, ReadOnly: true, Doc: "TLS 1.2 cipher suites by IANA name; Go's secure defaults when empty."},
		{Name: "ssl.endpoint.identification.algorithm", Type: String, Default: "https", HasDefault: true, ReadOnly: true,
			Doc: "https checks the server's host name against its certificate; empty checks only the chain."},
		{Name: "ssl.principal.mapping.rules", Type: String, Default: "DEFAULT", HasDefault: true, ReadOnly: true,
			Doc: "Rules mapping a client certificate's subject to a principal name (KIP-371): RULE:pattern/replacement/[LU], ..., DEFAULT."},
		{Name: "ssl.keystore.password", Type: Password, Sensitive: true, Doc: "Password of the TLS key store."},
		{Name: "ssl.key.password", Type: Password, Sensitive: true, Doc: "Password of the TLS private key."},
		{Name: "ssl.truststore.password", Type: Password, Sensitive: true, Doc: "Password of the TLS trust store."},
		{Name: "sasl.jaas.config", Type: Password, Sensitive: true, Doc: "SASL login configuration."},
		// Off by default: it is a second port per node, and several nodes
		// of a cluster on one host would clash on any fixed default.
		{Name: "http.listener", Type: String, ReadOnly: true, Validate: hostPortOrEmpty,
			Doc: "HOST:PORT of the HTTP listener serving /metrics (Prometheus), /healthz, /readyz and the web console; empty (the default) for none. fjord's own, not Kafka's."},
		{Name: "http.console.enable", Type: Boolean, Default: "true", HasDefault: true, ReadOnly: true,
			Doc: "Serve the web console at / on http.listener. It acts as this broker's inter-broker principal, so on a secured listener it is served only with http.console.basic.auth. fjord's own."},
		{Name: "http.console.basic.auth", Type: Password, Sensitive: true,
			Doc: "USER:PASSWORD the web console on http.listener asks for (HTTP basic authentication). fjord's own."},
	}
}
