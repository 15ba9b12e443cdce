package e2e

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"

	"github.com/fjordhq/fjord/internal/cli"
	"github.com/fjordhq/fjord/internal/e2etest"
)

// cliResult is one finished run of the fjord binary.
type cliResult = e2etest.CLIResult

// useCLI points the fjord binaries a test runs at brokers, with an empty
// configuration directory of their own, so that the profiles of whoever
// runs the tests stay out; it returns that directory.
func useCLI(t *testing.T, brokers string) string {
	t.Helper()
	dir := t.TempDir()
	t.Setenv(cli.ConfigDirEnv, dir)
	t.Setenv(cli.ProfileEnv, "")
	t.Setenv(cli.BrokersEnv, brokers)
	return dir
}

// runCLI runs the fjord binary with stdin and args; mustCLI also fails the
// test unless it exits with 0.
var (
	runCLI  = e2etest.RunCLI
	mustCLI = e2etest.MustCLI
)

// cliJSONRecord is a record as `fjord consume --format json` documents it
// (internal/cli/format_json.go), decoded independently of fjord's code.
type cliJSONRecord struct {
	Topic         string          `json:"topic"`
	Partition     int32           `json:"partition"`
	Offset        int64           `json:"offset"`
	Timestamp     int64           `json:"timestamp"`
	Key           *string         `json:"key"`
	KeyEncoding   string          `json:"key_encoding"`
	Value         *string         `json:"value"`
	ValueEncoding string          `json:"value_encoding"`
	Headers       []cliJSONHeader `json:"headers"`
}

type cliJSONHeader struct {
	Key           string  `json:"key"`
	Value         *string `json:"value"`
	ValueEncoding string  `json:"value_encoding"`
}

// parseCLIJSON decodes one record a line, refusing fields the format does
// not have.
func parseCLIJSON(t *testing.T, out string) []cliJSONRecord {
	t.Helper()
	var records []cliJSONRecord
	scanner := bufio.NewScanner(strings.NewReader(out))
	for scanner.Scan() {
		dec := json.NewDecoder(strings.NewReader(scanner.Text()))
		dec.DisallowUnknownFields()
		var r cliJSONRecord
		if err := dec.Decode(&r); err != nil {
			t.Fatalf("output line %q: %v", scanner.Text(), err)
		}
		records = append(records, r)
	}
	return records
}

// cliBytes decodes a key or value of the JSON format: nil for null, base64
// when the encoding says so, else the UTF-8 text.
func cliBytes(t *testing.T, s *string, encoding string) []byte {
	t.Helper()
	switch {
	case s == nil:
		return nil
	case encoding == "base64":
		b, err := base64.StdEncoding.DecodeString(*s)
		if err != nil {
			t.Fatalf("base64 %q: %v", *s, err)
		}
		return b
	case encoding != "":
		t.Fatalf("unknown encoding %q", encoding)
	}
	return []byte(*s)
}

// cliValues are the values of records as text, in order.
func cliValues(t *testing.T, records []cliJSONRecord) []string {
	t.Helper()
	values := make([]string, len(records))
	for i, r := range records {
		values[i] = string(cliBytes(t, r.Value, r.ValueEncoding))
	}
	return values
}
