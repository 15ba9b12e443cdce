// Package console_test drives the web console in headless Chromium against
// a real fjord server: `fjord console --brokers` serves it, the test clicks
// and types as a person would, and checks what the pages show and what the
// cluster did (acceptance 1 of issue 18).
package console_test

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/fjordhq/fjord/internal/clustertest"
	"github.com/fjordhq/fjord/internal/fjordtest"
)

const (
	ordersTopic      = "orders"
	ordersPartitions = 3
	ordersRecords    = 30
	eventsTopic      = "events"
	lagGroup         = "billing" // committed offsets, no members
	liveGroup        = "live"    // a running member: offsets cannot be reset
)

// cluster is a running server with the test's data.
type cluster struct {
	brokers    string
	controller string // the controller listener
	client     *kgo.Client
	adm        *kadm.Client
	ends       kadm.ListedOffsets
}

func seedCluster(t *testing.T, ctx context.Context) *cluster {
	t.Helper()
	controller := fmt.Sprintf("127.0.0.1:%d", clustertest.FreeLoopbackPorts(t, 1)[0])
	srv := fjordtest.Start(t, fjordtest.Options{Args: []string{"--node-id", "1", "--controllers", "1@" + controller}})
	cl, err := kgo.NewClient(kgo.SeedBrokers(srv.Addr))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	adm := kadm.NewClient(cl)
	if _, err := adm.CreateTopic(ctx, ordersPartitions, 1, nil, ordersTopic); err != nil {
		t.Fatal(err)
	}
	if _, err := adm.CreateTopic(ctx, 1, 1, nil, eventsTopic); err != nil {
		t.Fatal(err)
	}
	var recs []*kgo.Record
	for i := range ordersRecords {
		recs = append(recs, &kgo.Record{Topic: ordersTopic, Key: []byte(fmt.Sprintf("order-%d", i)),
			Value:   []byte(fmt.Sprintf(`{"id":%d,"item":"widget","qty":%d}`, i, i%5+1)),
			Headers: []kgo.RecordHeader{{Key: "source", Value: []byte("seed")}}})
	}
	for i := range 5 {
		recs = append(recs, &kgo.Record{Topic: eventsTopic, Value: []byte(fmt.Sprintf("event %d", i))})
	}
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	ends, err := adm.ListEndOffsets(ctx, ordersTopic)
	if err != nil {
		t.Fatal(err)
	}
	// billing has read one record of each partition: its lag is the rest.
	commits := kadm.Offsets{}
	for p := range int32(ordersPartitions) {
		commits.Add(kadm.Offset{Topic: ordersTopic, Partition: p, At: 1, LeaderEpoch: -1})
	}
	if err := adm.CommitAllOffsets(ctx, lagGroup, commits); err != nil {
		t.Fatal(err)
	}
	return &cluster{brokers: srv.Addr, controller: controller, client: cl, adm: adm, ends: ends}
}

// joinLiveGroup runs a consumer in liveGroup until the test ends and
// returns once it has consumed, so the group is Stable.
func joinLiveGroup(t *testing.T, ctx context.Context, brokers string) {
	t.Helper()
	member, err := kgo.NewClient(kgo.SeedBrokers(brokers), kgo.ConsumerGroup(liveGroup), kgo.ConsumeTopics(eventsTopic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(member.Close)
	pollCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if fetches := member.PollFetches(pollCtx); fetches.NumRecords() == 0 {
		t.Fatalf("live group consumed nothing: %v", fetches.Errors())
	}
	if err := member.CommitUncommittedOffsets(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestConsoleInBrowser(t *testing.T) {
	findChromium(t)
	ctx := t.Context()
	c := seedCluster(t, ctx)
	joinLiveGroup(t, ctx, c.brokers)
	base := startConsole(t, c.brokers, "--sample-interval", "1s", "--bootstrap-controller", c.controller)
	dir := screenshotDir(t)
	browser := newBrowser(t, 1366, 768)

	t.Run("overview", func(t *testing.T) { checkOverview(t, browser, base, dir) })
	t.Run("topics", func(t *testing.T) { checkTopics(t, browser, c, dir) })
	t.Run("topic", func(t *testing.T) { checkTopicDetail(t, browser, c, dir) })
	t.Run("messages", func(t *testing.T) { checkMessages(t, browser, dir) })
	t.Run("produce", func(t *testing.T) { checkProduce(t, browser, c, dir) })
	t.Run("tail", func(t *testing.T) { checkTail(t, browser, c) })
	t.Run("groups", func(t *testing.T) { checkGroups(t, browser, c, dir) })
	t.Run("brokers", func(t *testing.T) {
		route(t, browser, "/brokers", "[data-testid=broker-configs] tbody tr")
		waitText(t, browser, "[data-testid=broker-configs]", "num.partitions")
		screenshot(t, browser, dir, "07-broker-configs")
	})
	t.Run("security", func(t *testing.T) {
		route(t, browser, "/security", "[data-testid=security-off]")
		waitText(t, browser, "[data-testid=security-off]", "Security is off")
		screenshot(t, browser, dir, "08-security")
	})
	t.Run("phone", func(t *testing.T) { checkPhone(t, base, dir) })
}

// route changes the hash, as a click on the sidebar does, and waits for css.
func route(t *testing.T, ctx context.Context, hash, css string) {
	t.Helper()
	do(t, ctx, "opening "+hash, chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`location.hash = %s`, jsString(hash))))
	waitExists(t, ctx, css)
}

func checkOverview(t *testing.T, ctx context.Context, base, dir string) {
	open(t, ctx, base, "/overview", "[data-testid=brokers] tbody tr")
	waitText(t, ctx, "[data-testid=broker-count]", "1")
	waitText(t, ctx, "[data-testid=brokers]", "127.0.0.1")
	waitText(t, ctx, "[data-testid=controller]", "1")
	waitText(t, ctx, "[data-testid=offline]", "0")
	waitText(t, ctx, "[data-testid=under-replicated]", "0")
	waitText(t, ctx, "[data-testid=quorum-leader]", "1")
	waitText(t, ctx, "[data-testid=quorum]", "leader")
	// The throughput chart draws once the sampler has two samples.
	waitVisibleWithin(t, ctx, "[data-testid=throughput] polyline", 40*time.Second)
	screenshot(t, ctx, dir, "01-overview")
}

func checkTopics(t *testing.T, ctx context.Context, c *cluster, dir string) {
	route(t, ctx, "/topics", `a[data-topic="orders"]`)
	row := `a[data-topic="orders"]`
	waitText(t, ctx, "[data-testid=topics]", eventsTopic)
	cells, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](
		`[...document.querySelector('a[data-topic="orders"]').closest('tr').cells].map(c => c.innerText)`))
	if err != nil {
		t.Fatal(err)
	}
	if cells[1] != strconv.Itoa(ordersPartitions) || cells[4] != strconv.Itoa(ordersRecords) {
		t.Fatalf("orders row = %q, want %d partitions and %d records", cells, ordersPartitions, ordersRecords)
	}
	screenshot(t, ctx, dir, "02-topics")
	// "/" focuses the filter; typing filters the list.
	do(t, ctx, "pressing /", chromedp.KeyEvent("/"))
	if id, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.activeElement.id`)); err != nil || id != "topic-filter" {
		t.Fatalf("after /, focus is on %q (%v), want the filter", id, err)
	}
	// CDP delivers the key's character even when the page cancels the
	// keydown, as a real browser does not: clear it before typing.
	do(t, ctx, "filtering", chromedp.KeyEvent(kb.Backspace), chromedp.KeyEvent("ord"))
	if err := chromedp.Do(ctx, chromedp.Poll[chromedp.Void](`!document.querySelector('a[data-topic="events"]') && !!document.querySelector(`+jsString(row)+`)`)); err != nil {
		v, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.activeElement.outerHTML + " value=" + document.querySelector("#topic-filter").value`))
		t.Fatalf("filter did not hide events: %v; focus on %s", err, v)
	}
	// Create a topic with the form; Enter submits.
	const created = "created-in-browser"
	do(t, ctx, "creating a topic",
		chromedp.SendKeys(chromedp.CSS("#new-topic-partitions"), "4"),
		chromedp.SendKeys(chromedp.CSS("#new-topic-configs"), "retention.ms=7200000"),
		chromedp.SendKeys(chromedp.CSS("#new-topic-name"), created+kb.Enter))
	waitText(t, ctx, ".notice.ok", "Created topic "+created)
	details, err := c.adm.ListTopics(ctx, created)
	if err != nil {
		t.Fatal(err)
	}
	if got := len(details[created].Partitions); got != 4 {
		t.Fatalf("kadm sees %d partitions of %s, want 4", got, created)
	}
	cfgs, err := c.adm.DescribeTopicConfigs(ctx, created)
	if err != nil {
		t.Fatal(err)
	}
	if v := configValue(t, cfgs, created, "retention.ms"); v != "7200000" {
		t.Fatalf("retention.ms of %s = %q, want 7200000", created, v)
	}
}

func configValue(t *testing.T, rcs kadm.ResourceConfigs, resource, name string) string {
	t.Helper()
	rc, err := rcs.On(resource, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, cfg := range rc.Configs {
		if cfg.Key == name {
			return cfg.MaybeValue()
		}
	}
	t.Fatalf("%s has no config %s", resource, name)
	return ""
}

func checkTopicDetail(t *testing.T, ctx context.Context, c *cluster, dir string) {
	route(t, ctx, "/topics/orders", "[data-testid=partitions] tbody tr")
	if n := count(t, ctx, "[data-testid=partitions] tbody tr"); n != ordersPartitions {
		t.Fatalf("%d partition rows, want %d", n, ordersPartitions)
	}
	for p := range int32(ordersPartitions) {
		end, _ := c.ends.Lookup(ordersTopic, p)
		cells, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](fmt.Sprintf(
			`[...document.querySelectorAll('[data-testid=partitions] tbody tr')[%d].cells].map(c => c.innerText)`, p)))
		if err != nil {
			t.Fatal(err)
		}
		if cells[0] != strconv.Itoa(int(p)) || cells[1] != "1" || cells[5] != strconv.FormatInt(end.Offset, 10) {
			t.Fatalf("partition %d row %q, want leader 1 and end offset %d", p, cells, end.Offset)
		}
	}
	waitText(t, ctx, "[data-testid=configs]", "cleanup.policy")
	do(t, ctx, "editing retention.ms",
		chromedp.SendKeys(chromedp.CSS("#config-name"), "retention.ms"),
		chromedp.SendKeys(chromedp.CSS("#config-value"), "3600000"+kb.Enter))
	waitText(t, ctx, `[data-config="retention.ms"]`, "3600000")
	cfgs, err := c.adm.DescribeTopicConfigs(ctx, ordersTopic)
	if err != nil {
		t.Fatal(err)
	}
	if v := configValue(t, cfgs, ordersTopic, "retention.ms"); v != "3600000" {
		t.Fatalf("retention.ms of orders = %q after the edit, want 3600000", v)
	}
	screenshot(t, ctx, dir, "03-topic")
}

func checkMessages(t *testing.T, ctx context.Context, dir string) {
	route(t, ctx, "/messages/orders", "[data-testid=messages] tbody tr")
	if n := count(t, ctx, "[data-testid=messages] tbody tr"); n != ordersRecords {
		t.Fatalf("newest 50 shows %d messages, want all %d", n, ordersRecords)
	}
	do(t, ctx, "filtering by key", chromedp.SendKeys(chromedp.CSS("#filter-key"), "order-7"+kb.Enter))
	if err := chromedp.Do(ctx, chromedp.Poll[chromedp.Void](`document.querySelectorAll('[data-testid=messages] tbody tr').length === 1`)); err != nil {
		t.Fatalf("key filter: %v", err)
	}
	waitText(t, ctx, "[data-testid=messages] .msg-key", "order-7")
	waitText(t, ctx, "[data-testid=messages] pre.json", "\"id\": 7,\n  \"item\": \"widget\"") // pretty-printed
	waitText(t, ctx, "[data-testid=messages] .msg-header", "source = seed")
	screenshot(t, ctx, dir, "04-messages")
}

func checkProduce(t *testing.T, ctx context.Context, c *cluster, dir string) {
	route(t, ctx, "/produce/orders", "#produce-partition option[value='1']")
	do(t, ctx, "producing",
		chromedp.SetValue(chromedp.CSS("#produce-partition"), "1"),
		chromedp.SendKeys(chromedp.CSS("#produce-key"), "from-browser"),
		chromedp.SendKeys(chromedp.CSS("#produce-value"), `{"made":"in chromium"}`),
		chromedp.SendKeys(chromedp.CSS("#produce-headers"), "origin=console"),
		chromedp.Click(chromedp.CSS("#produce-submit")))
	end, _ := c.ends.Lookup(ordersTopic, 1)
	waitText(t, ctx, "[data-testid=produced]", fmt.Sprintf("partition 1 at offset %d", end.Offset))
	screenshot(t, ctx, dir, "05-produce")

	// kgo reads it where the page said it went.
	reader, err := kgo.NewClient(kgo.SeedBrokers(c.brokers),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{ordersTopic: {1: kgo.NewOffset().At(end.Offset)}}))
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Close()
	pollCtx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	recs := reader.PollFetches(pollCtx).Records()
	if len(recs) != 1 || string(recs[0].Key) != "from-browser" || string(recs[0].Value) != `{"made":"in chromium"}` ||
		len(recs[0].Headers) != 1 || recs[0].Headers[0].Key != "origin" || string(recs[0].Headers[0].Value) != "console" {
		t.Fatalf("kgo read %v, want the produced record", recs)
	}
	// And the browser finds it.
	route(t, ctx, "/messages/orders", "#browse-partition option[value='1']")
	do(t, ctx, "browsing partition 1 from the offset",
		chromedp.SetValue(chromedp.CSS("#browse-partition"), "1"),
		chromedp.SetValue(chromedp.CSS("#browse-mode"), "offset"),
		chromedp.SetValue(chromedp.CSS("#browse-offset"), strconv.FormatInt(end.Offset, 10)),
		chromedp.Click(chromedp.CSS("#browse-submit")))
	if err := chromedp.Do(ctx, chromedp.Poll[chromedp.Void](`document.querySelectorAll('[data-testid=messages] tbody tr').length === 1`)); err != nil {
		t.Fatalf("browsing the produced message: %v", err)
	}
	waitText(t, ctx, "[data-testid=messages] .msg-key", "from-browser")
	waitText(t, ctx, "[data-testid=messages] .msg-header", "origin = console")
}

func checkGroups(t *testing.T, ctx context.Context, c *cluster, dir string) {
	route(t, ctx, "/groups", `a[data-group="billing"]`)
	ends, err := c.adm.ListEndOffsets(ctx, ordersTopic) // the produce step added one
	if err != nil {
		t.Fatal(err)
	}
	var wantLag int64
	for p := range int32(ordersPartitions) {
		end, _ := ends.Lookup(ordersTopic, p)
		wantLag += end.Offset - 1
	}
	waitText(t, ctx, `[data-lag="billing"]`, strconv.FormatInt(wantLag, 10))
	waitText(t, ctx, "[data-testid=groups]", liveGroup)
	screenshot(t, ctx, dir, "06-groups")

	route(t, ctx, "/groups/billing", "[data-testid=group-lag] tbody tr")
	for p := range int32(ordersPartitions) {
		end, _ := ends.Lookup(ordersTopic, p)
		waitText(t, ctx, fmt.Sprintf(`[data-lag="orders-%d"]`, p), strconv.FormatInt(end.Offset-1, 10))
	}
	waitText(t, ctx, "[data-testid=group-state]", "Empty")
	// fjord console runs a lag monitor, whose Burrow-style status shows.
	waitExists(t, ctx, "[data-testid=group-status] .pill")
	// Two polls make a line on the lag chart.
	waitVisibleWithin(t, ctx, "[data-testid=lag-chart] polyline", 20*time.Second)
	screenshot(t, ctx, dir, "06-group-detail")
	do(t, ctx, "resetting billing to latest",
		chromedp.SetValue(chromedp.CSS("#reset-to"), "latest"),
		chromedp.Click(chromedp.CSS("#reset-submit")))
	waitText(t, ctx, "[data-testid=reset-done]", "Committed 3 offsets")
	fetched, err := c.adm.FetchOffsets(ctx, lagGroup)
	if err != nil {
		t.Fatal(err)
	}
	for p := range int32(ordersPartitions) {
		end, _ := ends.Lookup(ordersTopic, p)
		got, ok := fetched.Lookup(ordersTopic, p)
		if !ok || got.At != end.Offset {
			t.Fatalf("billing's committed offset of orders-%d = %+v, want %d", p, got, end.Offset)
		}
	}
	waitText(t, ctx, "[data-testid=total-lag]", "0")

	// A group with a member refuses, with Kafka's error name.
	route(t, ctx, "/groups/live", "[data-testid=members] tbody tr")
	do(t, ctx, "resetting the live group", chromedp.Click(chromedp.CSS("#reset-submit")))
	waitText(t, ctx, "[data-testid=reset-error]", "NON_EMPTY_GROUP")
}

// checkPhone takes phone-size screenshots of two pages in a browser of
// its own.
func checkPhone(t *testing.T, base, dir string) {
	ctx := newBrowser(t, 390, 844)
	do(t, ctx, "phone viewport", chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2)))
	open(t, ctx, base, "/overview", "[data-testid=brokers] tbody tr")
	screenshot(t, ctx, dir, "09-phone-overview")
	do(t, ctx, "menu", chromedp.Click(chromedp.CSS("#menu-toggle")), chromedp.WaitVisible(chromedp.CSS("#sidebar a[data-nav=groups]")))
	do(t, ctx, "to groups", chromedp.Click(chromedp.CSS("#sidebar a[data-nav=groups]")), chromedp.WaitVisible(chromedp.CSS(`a[data-group="billing"]`)))
	screenshot(t, ctx, dir, "10-phone-groups")
}

// checkTail turns on live tail and sees a record produced afterwards
// appear without touching the page.
func checkTail(t *testing.T, ctx context.Context, c *cluster) {
	// The sidebar's Messages asks for a topic first.
	route(t, ctx, "/messages", "#topic-select option[value=events]")
	do(t, ctx, "choosing events", chromedp.SetValue(chromedp.CSS("#topic-select"), eventsTopic),
		chromedp.Click(chromedp.CSS("#topic-open")))
	waitExists(t, ctx, "[data-testid=messages] tbody tr")
	waitText(t, ctx, "[data-testid=messages]", "event 4")
	do(t, ctx, "live tail on", chromedp.Click(chromedp.CSS("#live-tail")))
	rec := &kgo.Record{Topic: eventsTopic, Value: []byte("tailed event")}
	if err := c.client.ProduceSync(ctx, rec).FirstErr(); err != nil {
		t.Fatal(err)
	}
	waitText(t, ctx, "[data-testid=messages]", "tailed event")
}
