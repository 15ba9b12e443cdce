package httpsink

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/fjordhq/fjord/connect"
)

// The configuration keys, named as Confluent's HTTP Sink connector names
// them, except retry.backoff.max.ms, which is fjord's.
const (
	URLConfig             = "http.api.url"
	MethodConfig          = "request.method"
	HeadersConfig         = "headers"
	HeaderSeparatorConfig = "header.separator"
	RequestTimeoutConfig  = "http.request.timeout.ms"
	ConnectTimeoutConfig  = "http.connect.timeout.ms"
	BodyFormatConfig      = "request.body.format"
	BatchMaxSizeConfig    = "batch.max.size"
	BatchPrefixConfig     = "batch.prefix"
	BatchSuffixConfig     = "batch.suffix"
	BatchSeparatorConfig  = "batch.separator"
	MaxRetriesConfig      = "max.retries"
	RetryBackoffConfig    = "retry.backoff.ms"
	RetryBackoffMaxConfig = "retry.backoff.max.ms"
	AuthTypeConfig        = "auth.type"
	UserConfig            = "connection.user"
	PasswordConfig        = "connection.password"
	NullValuesConfig      = "behavior.on.null.values"
)

// The values of request.body.format, auth.type and
// behavior.on.null.values, in the case the task compares them (keys accept
// any case, as Confluent's do).
const (
	formatString = "string"
	formatJSON   = "json"

	authNone  = "none"
	authBasic = "basic"

	nullIgnore = "ignore"
	nullFail   = "fail"
)

// Limits on the configuration.
const (
	// maxBatchMaxSize bounds batch.max.size: the records a task holds in
	// memory between requests.
	maxBatchMaxSize = 1_000_000
	// maxBatchBytes bounds the bytes of the values a task buffers: a batch
	// is sent once they reach it, whatever batch.max.size says, so that
	// large records with a large batch.max.size cannot exhaust memory.
	maxBatchBytes = 16 << 20
	// maxRetries bounds max.retries, so that a typo cannot make a task
	// retry for days.
	maxRetries = 1000
	// maxWaitMs bounds the timeouts and backoffs: an hour. A wait blocks the
	// task's Put or Flush, and with it rebalances and offset commits.
	maxWaitMs = 60 * 60 * 1000
)

// configDef defines the connector's configuration.
func configDef() *connect.ConfigDef {
	def := connect.NewConfigDef()
	defineConnection(def)
	defineBatching(def)
	defineRetries(def)
	defineAuthentication(def)
	return def
}

func defineConnection(def *connect.ConfigDef) {
	const group = "Connection"
	def.Define(connect.ConfigKey{Name: URLConfig, Type: connect.ConfigString, Required: true,
		Validator: connect.ValidatorFunc(validateURL), Importance: connect.High,
		Group: group, OrderInGroup: 1, Width: connect.WidthLong,
		Documentation: "The URL requests are sent to: an absolute http or https URL, such as https://api.example.com/v1/events."}).
		Define(connect.ConfigKey{Name: MethodConfig, Type: connect.ConfigString, Default: http.MethodPost,
			Validator: connect.OneOfIgnoreCase(http.MethodPost, http.MethodPut, http.MethodPatch), Importance: connect.High,
			Group: group, OrderInGroup: 2, Width: connect.WidthShort,
			Documentation: "The HTTP method of the requests: POST, PUT or PATCH."}).
		Define(connect.ConfigKey{Name: HeadersConfig, Type: connect.ConfigString, Default: "",
			Importance: connect.Medium, Group: group, OrderInGroup: 3, Width: connect.WidthLong,
			Documentation: "Headers sent with every request, each Name:Value, separated by header.separator, for example X-Source:fjord|X-Tenant:shop."}).
		Define(connect.ConfigKey{Name: HeaderSeparatorConfig, Type: connect.ConfigString, Default: "|",
			Validator: connect.NonEmptyString(), Importance: connect.Low, Group: group, OrderInGroup: 4, Width: connect.WidthShort,
			Dependents:    []string{HeadersConfig},
			Documentation: "The separator of the headers in headers."}).
		Define(connect.ConfigKey{Name: RequestTimeoutConfig, Type: connect.ConfigInt, Default: 30000,
			Validator: connect.Between(1, maxWaitMs), Importance: connect.Medium, Group: group, OrderInGroup: 5, Width: connect.WidthShort,
			Documentation: "How long one request may take, from connecting to reading the response, in milliseconds; a request that takes longer is retried."}).
		Define(connect.ConfigKey{Name: ConnectTimeoutConfig, Type: connect.ConfigInt, Default: 30000,
			Validator: connect.Between(1, maxWaitMs), Importance: connect.Low, Group: group, OrderInGroup: 6, Width: connect.WidthShort,
			Documentation: "How long establishing a connection may take, in milliseconds."})
}

func defineBatching(def *connect.ConfigDef) {
	const group = "Batching"
	def.Define(connect.ConfigKey{Name: BodyFormatConfig, Type: connect.ConfigString, Default: formatString,
		Validator: connect.OneOfIgnoreCase(formatString, formatJSON), Importance: connect.High,
		Group: group, OrderInGroup: 1, Width: connect.WidthShort,
		Documentation: "How record values are written in request bodies: string, their string form, or json, as JSON " +
			"(structs as objects, Decimals as numbers, dates and times in ISO 8601, bytes in base64)."}).
		Define(connect.ConfigKey{Name: BatchMaxSizeConfig, Type: connect.ConfigInt, Default: 1,
			Validator: connect.Between(1, maxBatchMaxSize), Importance: connect.High,
			Group: group, OrderInGroup: 2, Width: connect.WidthShort,
			Documentation: "The most records one request carries. Above 1, a json body is an array of the values."}).
		Define(connect.ConfigKey{Name: BatchPrefixConfig, Type: connect.ConfigString, Default: "",
			Importance: connect.Low, Group: group, OrderInGroup: 3, Width: connect.WidthShort,
			Documentation: "Written before the values of a string body, as set (white space kept)."}).
		Define(connect.ConfigKey{Name: BatchSuffixConfig, Type: connect.ConfigString, Default: "",
			Importance: connect.Low, Group: group, OrderInGroup: 4, Width: connect.WidthShort,
			Documentation: "Written after the values of a string body, as set (white space kept)."}).
		Define(connect.ConfigKey{Name: BatchSeparatorConfig, Type: connect.ConfigString, Default: ",",
			Importance: connect.Low, Group: group, OrderInGroup: 5, Width: connect.WidthShort,
			Documentation: "Written between the values of a string body, as set (white space kept: it may be a newline)."}).
		Define(connect.ConfigKey{Name: NullValuesConfig, Type: connect.ConfigString, Default: nullIgnore,
			Validator: connect.OneOfIgnoreCase(nullIgnore, nullFail), Importance: connect.Low,
			Group: group, OrderInGroup: 6, Width: connect.WidthShort,
			Documentation: "What to do with a record whose value is null: ignore skips it; fail makes it a failed record, " +
				"reported to the dead letter queue if the connector has one, else failing the task."})
}

func defineRetries(def *connect.ConfigDef) {
	const group = "Retries"
	def.Define(connect.ConfigKey{Name: MaxRetriesConfig, Type: connect.ConfigInt, Default: 10,
		Validator: connect.Between(0, maxRetries), Importance: connect.Medium,
		Group: group, OrderInGroup: 1, Width: connect.WidthShort,
		Documentation: "How many times a request is retried after a 5xx, 408 or 429 response or no response, before the task fails."}).
		Define(connect.ConfigKey{Name: RetryBackoffConfig, Type: connect.ConfigInt, Default: 3000,
			Validator: connect.Between(0, maxWaitMs), Importance: connect.Medium,
			Group: group, OrderInGroup: 2, Width: connect.WidthShort,
			Documentation: "The wait before the first retry, in milliseconds; it doubles at each retry, with jitter."}).
		Define(connect.ConfigKey{Name: RetryBackoffMaxConfig, Type: connect.ConfigInt, Default: 60000,
			Validator: connect.Between(0, maxWaitMs), Importance: connect.Low,
			Group: group, OrderInGroup: 3, Width: connect.WidthShort,
			Documentation: "The longest wait between two attempts, in milliseconds, also capping what Retry-After asks for."})
}

func defineAuthentication(def *connect.ConfigDef) {
	const group = "Authentication"
	def.Define(connect.ConfigKey{Name: AuthTypeConfig, Type: connect.ConfigString, Default: "NONE",
		Validator: connect.OneOfIgnoreCase(authNone, authBasic), Importance: connect.High,
		Group: group, OrderInGroup: 1, Width: connect.WidthShort, Dependents: []string{UserConfig, PasswordConfig},
		Documentation: "How requests authenticate: NONE, or BASIC with connection.user and connection.password."}).
		Define(connect.ConfigKey{Name: UserConfig, Type: connect.ConfigString, Default: "",
			Importance: connect.High, Group: group, OrderInGroup: 2, Width: connect.WidthMedium,
			Documentation: "The user name of basic authentication."}).
		Define(connect.ConfigKey{Name: PasswordConfig, Type: connect.ConfigPassword,
			Importance: connect.High, Group: group, OrderInGroup: 3, Width: connect.WidthMedium,
			Documentation: "The password of basic authentication."})
}

// validateURL accepts absolute http and https URLs with a host. A missing
// value is left to Required.
func validateURL(_ string, value any) error {
	s, ok := value.(string)
	if !ok {
		return nil
	}
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("not a URL: %w", err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return errors.New("must be an absolute http or https URL with a host, such as https://api.example.com/v1/events")
	}
	return nil
}

// settings is a task's parsed configuration.
type settings struct {
	url    string // as configured
	target string // for messages: the URL without its password
	method string
	// headers are sent with every request; host overrides the request's
	// Host when headers names one (Go sends the URL's otherwise).
	headers http.Header
	host    string

	json                      bool
	batchMaxSize              int
	prefix, suffix, separator string
	failOnNull                bool

	maxRetries          int
	backoff, backoffMax time.Duration
	requestTimeout      time.Duration
	connectTimeout      time.Duration
	basicAuth           bool
	user                string
	password            connect.Password
}

// keyProblem is a problem of a configuration that no key's validator can
// see alone, reported on one key.
type keyProblem struct {
	key     string
	message string
}

// parseSettings parses and checks a configuration.
func parseSettings(props map[string]string) (settings, error) {
	cfg, err := configDef().Parse(props)
	if err != nil {
		return settings{}, fmt.Errorf("http sink: %w", err)
	}
	s, problems := settingsOf(cfg)
	if len(problems) > 0 {
		lines := make([]string, len(problems))
		for i, p := range problems {
			lines[i] = p.message
		}
		return settings{}, fmt.Errorf("http sink: %w: %s", connect.ErrInvalidConfig, strings.Join(lines, "\n"))
	}
	return s, nil
}

// settingsOf turns a parsed configuration into settings, with the problems
// of keys that depend on others.
func settingsOf(cfg connect.Config) (settings, []keyProblem) {
	originals := cfg.Originals()
	s := settings{
		url:            cfg.GetString(URLConfig),
		method:         strings.ToUpper(cfg.GetString(MethodConfig)),
		json:           strings.EqualFold(cfg.GetString(BodyFormatConfig), formatJSON),
		batchMaxSize:   int(cfg.GetInt(BatchMaxSizeConfig)),
		prefix:         untrimmed(originals, BatchPrefixConfig, ""),
		suffix:         untrimmed(originals, BatchSuffixConfig, ""),
		separator:      untrimmed(originals, BatchSeparatorConfig, ","),
		failOnNull:     strings.EqualFold(cfg.GetString(NullValuesConfig), nullFail),
		maxRetries:     int(cfg.GetInt(MaxRetriesConfig)),
		backoff:        millis(cfg.GetInt(RetryBackoffConfig)),
		backoffMax:     millis(cfg.GetInt(RetryBackoffMaxConfig)),
		requestTimeout: millis(cfg.GetInt(RequestTimeoutConfig)),
		connectTimeout: millis(cfg.GetInt(ConnectTimeoutConfig)),
		basicAuth:      strings.EqualFold(cfg.GetString(AuthTypeConfig), authBasic),
		user:           cfg.GetString(UserConfig),
		password:       cfg.GetPassword(PasswordConfig),
	}
	s.target = s.url
	if u, err := url.Parse(s.url); err == nil {
		s.target = u.Redacted()
	}
	var problems []keyProblem
	headers, host, err := parseHeaders(cfg.GetString(HeadersConfig), cfg.GetString(HeaderSeparatorConfig))
	if err != nil {
		problems = append(problems, keyProblem{HeadersConfig, fmt.Sprintf("Invalid value for configuration %s: %v", HeadersConfig, err)})
		headers = http.Header{}
	}
	s.headers, s.host = headers, host
	if s.basicAuth && s.user == "" {
		problems = append(problems, keyProblem{UserConfig, "auth.type=BASIC needs connection.user"})
	}
	if s.basicAuth && headers.Get("Authorization") != "" {
		problems = append(problems, keyProblem{HeadersConfig,
			"headers sets Authorization, which auth.type=BASIC sets too: use one or the other"})
	}
	s.setDefaultHeaders()
	return s, problems
}

// setDefaultHeaders adds the Content-Type of the body format and a
// User-Agent, unless headers set them.
func (s *settings) setDefaultHeaders() {
	if s.headers.Get("Content-Type") == "" {
		if s.json {
			s.headers.Set("Content-Type", "application/json")
		} else {
			s.headers.Set("Content-Type", "text/plain; charset=utf-8")
		}
	}
	if s.headers.Get("User-Agent") == "" {
		s.headers.Set("User-Agent", "fjord-http-sink/"+Version)
	}
}

// untrimmed returns a string key as the user wrote it: Parse trims white
// space, which a separator such as a newline needs.
func untrimmed(props map[string]string, key, def string) string {
	if v, ok := props[key]; ok {
		return v
	}
	return def
}

func millis(ms int32) time.Duration { return time.Duration(ms) * time.Millisecond }

// parseHeaders parses headers: Name:Value pairs joined by separator.
// Empty entries are skipped; white space around names and values is
// trimmed. A Host header sets the request's host, as Go sends no other.
func parseHeaders(raw, separator string) (http.Header, string, error) {
	headers := http.Header{}
	host := ""
	if strings.TrimSpace(raw) == "" {
		return headers, host, nil
	}
	for entry := range strings.SplitSeq(raw, separator) {
		if strings.TrimSpace(entry) == "" {
			continue
		}
		name, value, ok := strings.Cut(entry, ":")
		name, value = strings.TrimSpace(name), strings.TrimSpace(value)
		switch {
		case !ok:
			return nil, "", fmt.Errorf("header %q is not Name:Value (headers are separated by %q)", entry, separator)
		case !validHeaderName(name):
			return nil, "", fmt.Errorf("header name %q is not a valid HTTP header name", name)
		case strings.ContainsAny(value, "\r\n\x00"):
			return nil, "", fmt.Errorf("header %q has a line break or NUL in its value", name)
		}
		if http.CanonicalHeaderKey(name) == "Host" {
			host = value
			continue
		}
		headers.Add(name, value)
	}
	return headers, host, nil
}

// validHeaderName reports whether name is an HTTP token (RFC 9110's
// field-name): letters, digits and !#$%&'*+-.^_`|~.
func validHeaderName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// validateConfig is ConnectorValidator.Validate: the keys' own problems,
// and when they have none, the problems of keys that depend on others.
func validateConfig(props map[string]string) []connect.ConfigValue {
	def := configDef()
	values := def.Validate(props)
	cfg, err := def.Parse(props)
	if err != nil {
		return values
	}
	_, problems := settingsOf(cfg)
	for _, p := range problems {
		for i := range values {
			if values[i].Name == p.key {
				values[i].Errors = append(values[i].Errors, p.message)
			}
		}
	}
	return values
}
