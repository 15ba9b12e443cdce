package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/fjordhq/fjord/internal/clientconf"
)

// defaultConnectURL is a Kafka Connect worker's default REST address.
const defaultConnectURL = "http://localhost:8083"

// maxConnectAnswerBytes bounds an answer of the REST API read by the CLI.
const maxConnectAnswerBytes = 16 << 20

// Connector runs `fjord connector SUBCOMMAND ...`: the REST API of a Kafka
// Connect worker (fjord's or Kafka's), as curl scripts use it.
func Connector(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) error {
	get := func(path string) func(context.Context, []string, io.Writer, io.Writer) error {
		return func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
			return connectorCall(ctx, args, stdout, stderr, http.MethodGet, path)
		}
	}
	put := func(method, path string) func(context.Context, []string, io.Writer, io.Writer) error {
		return func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
			return connectorCall(ctx, args, stdout, stderr, method, path)
		}
	}
	commands := []subcommand{
		{"list", "list connectors with their state", connectorList},
		{"status", "show a connector's and its tasks' state", get("/connectors/{name}/status")},
		{"config", "show a connector's configuration", get("/connectors/{name}/config")},
		{"create", "create or update a connector from a properties or JSON file (PUT .../config)", connectorCreate},
		{"delete", "delete a connector", put(http.MethodDelete, "/connectors/{name}")},
		{"pause", "pause a connector's tasks", put(http.MethodPut, "/connectors/{name}/pause")},
		{"resume", "resume a paused or stopped connector", put(http.MethodPut, "/connectors/{name}/resume")},
		{"stop", "stop a connector and its tasks, keeping its configuration", put(http.MethodPut, "/connectors/{name}/stop")},
		{"restart", "restart a connector (--include-tasks, --only-failed)", connectorRestart},
		{"offsets", "show a connector's offsets; --file alters them, --reset resets them (connector stopped)", connectorOffsets},
		{"plugins", "list the connector plugins of the worker", connectorPlugins},
	}
	return dispatch(ctx, "connector", commands, args, stdout, stderr)
}

// connectFlags are the flags every connector subcommand takes.
type connectFlags struct{ url *string }

func (c *connectFlags) register(fs *flag.FlagSet) {
	c.url = fs.String("url", envOr("FJORD_CONNECT_URL", defaultConnectURL), "the worker's REST API (env FJORD_CONNECT_URL)")
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// connectorCall sends method to path (with {name} from the one argument)
// and prints the answer's JSON, indented.
func connectorCall(ctx context.Context, args []string, stdout, stderr io.Writer, method, path string) error {
	fs := newFlagSet("fjord connector", "fjord connector SUBCOMMAND NAME [--url URL]", stderr)
	var c connectFlags
	c.register(fs)
	names, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(names) != 1 || names[0] == "" {
		return usagef(fs, "exactly one connector NAME required, got %d", len(names))
	}
	return c.do(ctx, stdout, method, strings.ReplaceAll(path, "{name}", url.PathEscape(names[0])), nil)
}

// do sends one request and prints its JSON answer; an error answer
// becomes an error with the worker's message.
func (c *connectFlags) do(ctx context.Context, stdout io.Writer, method, path string, body any) error {
	answer, err := c.request(ctx, method, path, body)
	if err != nil || len(answer) == 0 {
		return err
	}
	var out bytes.Buffer
	if json.Indent(&out, answer, "", "  ") != nil {
		out.Reset()
		out.Write(answer)
	}
	out.WriteByte('\n')
	_, err = stdout.Write(out.Bytes())
	return err
}

func (c *connectFlags) request(ctx context.Context, method, path string, body any) ([]byte, error) {
	var reader io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		reader = bytes.NewReader(b)
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimSuffix(*c.url, "/")+path, reader)
	if err != nil {
		return nil, fmt.Errorf("connect worker %s: %w", *c.url, err)
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("connect worker %s: %w", *c.url, err)
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, maxConnectAnswerBytes))
	if err != nil {
		return nil, fmt.Errorf("connect worker %s: %w", *c.url, err)
	}
	if resp.StatusCode >= 300 {
		var e struct {
			Code    int    `json:"error_code"`
			Message string `json:"message"`
		}
		if json.Unmarshal(answer, &e) == nil && e.Message != "" {
			return nil, fmt.Errorf("%s %s: %d: %s", method, path, resp.StatusCode, e.Message)
		}
		return nil, fmt.Errorf("%s %s: %s", method, path, resp.Status)
	}
	return answer, nil
}

func connectorList(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("fjord connector list", "fjord connector list [--url URL]", stderr)
	var c connectFlags
	c.register(fs)
	if rest, err := parseArgs(fs, args); err != nil {
		return err
	} else if len(rest) > 0 {
		return usagef(fs, "unexpected arguments %q", rest)
	}
	answer, err := c.request(ctx, http.MethodGet, "/connectors?expand=status", nil)
	if err != nil {
		return err
	}
	var byName map[string]struct {
		Status struct {
			Connector struct {
				State string `json:"state"`
			} `json:"connector"`
			Tasks []struct {
				State string `json:"state"`
			} `json:"tasks"`
			Type string `json:"type"`
		} `json:"status"`
	}
	if err := json.Unmarshal(answer, &byName); err != nil {
		return fmt.Errorf("connect worker answer: %w", err)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tTYPE\tSTATE\tTASKS")
	for _, name := range slices.Sorted(maps.Keys(byName)) {
		s := byName[name].Status
		var tasks []string
		for _, t := range s.Tasks {
			tasks = append(tasks, t.State)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", name, s.Type, s.Connector.State, strings.Join(tasks, ","))
	}
	return tw.Flush()
}

func connectorCreate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("fjord connector create", "fjord connector create --file CONNECTOR.properties|CONNECTOR.json [--name NAME] [--url URL]", stderr)
	var c connectFlags
	c.register(fs)
	file := fs.String("file", "", "the connector's configuration: a properties file, or JSON as the REST API takes it")
	name := fs.String("name", "", "the connector's name (default: the file's name property)")
	if rest, err := parseArgs(fs, args); err != nil {
		return err
	} else if len(rest) > 0 {
		return usagef(fs, "unexpected arguments %q", rest)
	}
	if *file == "" {
		return usagef(fs, "--file is required")
	}
	config, err := readConnectorConfig(*file)
	if err != nil {
		return err
	}
	if *name != "" {
		config["name"] = *name
	}
	if config["name"] == "" {
		return usagef(fs, "the configuration has no name; give --name")
	}
	return c.do(ctx, stdout, http.MethodPut, "/connectors/"+url.PathEscape(config["name"])+"/config", config)
}

// readConnectorConfig reads a properties file or the JSON of POST
// /connectors ({"name":..., "config":{...}}) or of PUT .../config.
func readConnectorConfig(path string) (map[string]string, error) {
	if !strings.HasSuffix(path, ".json") {
		return clientconf.LoadProperties(path)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var wrapped struct {
		Name   string            `json:"name"`
		Config map[string]string `json:"config"`
	}
	if err := json.Unmarshal(b, &wrapped); err == nil && wrapped.Config != nil {
		if wrapped.Config["name"] == "" {
			wrapped.Config["name"] = wrapped.Name
		}
		return wrapped.Config, nil
	}
	var config map[string]string
	if err := json.Unmarshal(b, &config); err != nil {
		return nil, fmt.Errorf("%s: not a connector configuration (string values only): %w", path, err)
	}
	return config, nil
}

func connectorRestart(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("fjord connector restart", "fjord connector restart NAME [--include-tasks] [--only-failed] [--url URL]", stderr)
	var c connectFlags
	c.register(fs)
	includeTasks := fs.Bool("include-tasks", false, "restart the tasks too")
	onlyFailed := fs.Bool("only-failed", false, "restart only what has FAILED")
	names, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(names) != 1 {
		return usagef(fs, "exactly one connector NAME required, got %d", len(names))
	}
	path := fmt.Sprintf("/connectors/%s/restart?includeTasks=%t&onlyFailed=%t", url.PathEscape(names[0]), *includeTasks, *onlyFailed)
	return c.do(ctx, stdout, http.MethodPost, path, nil)
}

func connectorOffsets(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("fjord connector offsets",
		"fjord connector offsets NAME [--file OFFSETS.json | --reset] [--url URL]\n"+
			"--file takes the body of PATCH /connectors/NAME/offsets: {\"offsets\":[{\"partition\":{...},\"offset\":{...}}]}", stderr)
	var c connectFlags
	c.register(fs)
	file := fs.String("file", "", "alter the offsets to those of the file (the connector must be stopped)")
	reset := fs.Bool("reset", false, "reset the offsets (the connector must be stopped)")
	names, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(names) != 1 {
		return usagef(fs, "exactly one connector NAME required, got %d", len(names))
	}
	path := "/connectors/" + url.PathEscape(names[0]) + "/offsets"
	switch {
	case *file != "" && *reset:
		return usagef(fs, "--file and --reset exclude each other")
	case *reset:
		return c.do(ctx, stdout, http.MethodDelete, path, nil)
	case *file != "":
		b, err := os.ReadFile(*file)
		if err != nil {
			return err
		}
		var body json.RawMessage
		if err := json.Unmarshal(b, &body); err != nil {
			return fmt.Errorf("%s: %w", *file, err)
		}
		return c.do(ctx, stdout, http.MethodPatch, path, body)
	}
	return c.do(ctx, stdout, http.MethodGet, path, nil)
}

func connectorPlugins(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("fjord connector plugins", "fjord connector plugins [--all] [--url URL]", stderr)
	var c connectFlags
	c.register(fs)
	all := fs.Bool("all", false, "list converters, transformations and predicates too")
	if rest, err := parseArgs(fs, args); err != nil {
		return err
	} else if len(rest) > 0 {
		return usagef(fs, "unexpected arguments %q", rest)
	}
	return c.do(ctx, stdout, http.MethodGet, fmt.Sprintf("/connector-plugins?connectorsOnly=%t", !*all), nil)
}
