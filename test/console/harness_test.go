package console_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/fjordhq/fjord/internal/fjordtest"
)

// RequireChromiumEnv, set to 1 (as CI does), makes a missing Chromium a
// failure rather than a skip.
const RequireChromiumEnv = "FJORD_CONSOLE_REQUIRE_CHROMIUM"

// ScreenshotsEnv names the directory screenshots are saved in.
const ScreenshotsEnv = "FJORD_SCREENSHOTS"

// findChromium returns the browser's path, or skips (fails under
// RequireChromiumEnv) when there is none.
func findChromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "headless_shell"} {
		if path, err := exec.LookPath(name); err == nil {
			return path
		}
	}
	if os.Getenv(RequireChromiumEnv) == "1" {
		t.Fatalf("no Chromium on PATH and %s=1", RequireChromiumEnv)
	}
	t.Skipf("no Chromium on PATH (set %s=1 to fail instead)", RequireChromiumEnv)
	return ""
}

// newBrowser starts headless Chromium with the flags CI needs as root and
// returns a tab's context, cancelled (and the browser stopped) at cleanup.
func newBrowser(t *testing.T, width, height int) context.Context {
	t.Helper()
	path := findChromium(t)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.Flag("headless", "new"),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.WindowSize(width, height),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx, chromedp.WithLogf(t.Logf))
	ctx, cancelTimeout := context.WithTimeout(ctx, 4*time.Minute)
	t.Cleanup(func() { cancelTimeout(); cancel(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil { // starts the browser
		t.Fatalf("starting Chromium %s: %v", path, err)
	}
	return ctx
}

// startConsole runs `fjord console --brokers` on a free port and returns
// its base URL; it is stopped with SIGTERM at cleanup.
func startConsole(t *testing.T, brokers string, extra ...string) string {
	t.Helper()
	args := append([]string{"console", "--brokers", brokers, "--listen", "127.0.0.1:0"}, extra...)
	cmd := exec.Command(fjordtest.Binary(t), args...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting fjord console: %v", err)
	}
	exited := make(chan error, 1)
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-exited:
			if err != nil {
				t.Errorf("fjord console exited with %v; stderr:\n%s", err, stderr.String())
			}
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
			t.Errorf("fjord console did not stop on SIGTERM")
			<-exited
		}
	})
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			default:
			}
		}
		exited <- cmd.Wait()
	}()
	select {
	case line := <-lines:
		const prefix = "fjord console listening on "
		if !strings.HasPrefix(line, prefix) {
			t.Fatalf("unexpected first line %q", line)
		}
		url, _, _ := strings.Cut(strings.TrimPrefix(line, prefix), " ")
		return strings.TrimSuffix(url, "/")
	case <-time.After(30 * time.Second):
		t.Fatalf("fjord console did not report its address; stderr:\n%s", stderr.String())
	}
	return ""
}

// screenshotDir is $FJORD_SCREENSHOTS or fjord-console-screenshots in the
// temporary directory; it is kept after the test so people can look.
func screenshotDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv(ScreenshotsEnv)
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "fjord-console-screenshots")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshots go to %s", dir)
	return dir
}

func screenshot(t *testing.T, ctx context.Context, dir, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// waitText waits until the element matching css shows want.
func waitText(t *testing.T, ctx context.Context, css, want string) {
	t.Helper()
	expr := fmt.Sprintf(`(document.querySelector(%s)?.innerText ?? "").includes(%s)`, jsString(css), jsString(want))
	if err := chromedp.Do(ctx, chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingTimeout(30*time.Second))); err != nil {
		text, _ := chromedp.Run(ctx, chromedp.Evaluate[string](fmt.Sprintf(`document.querySelector(%s)?.outerHTML ?? "(no element)"`, jsString(css))))
		t.Fatalf("waiting for %q in %s: %v; it shows:\n%s", want, css, err, text)
	}
}

// count returns how many elements match css.
func count(t *testing.T, ctx context.Context, css string) int {
	t.Helper()
	n, err := chromedp.Run(ctx, chromedp.Evaluate[int](fmt.Sprintf(`document.querySelectorAll(%s).length`, jsString(css))))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// open navigates to a hash route and waits for css to be visible.
func open(t *testing.T, ctx context.Context, base, route, css string) {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/#"+route), chromedp.WaitVisible(chromedp.CSS(css))); err != nil {
		t.Fatalf("opening %s (waiting for %s): %v", route, css, err)
	}
}

func do(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// waitVisibleWithin waits at most d for css to be visible.
func waitVisibleWithin(t *testing.T, ctx context.Context, css string, d time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(css))); err != nil {
		t.Fatalf("waiting for %s: %v", css, err)
	}
}

// waitExists waits until an element matches css (options of a select,
// which are never "visible", included).
func waitExists(t *testing.T, ctx context.Context, css string) {
	t.Helper()
	expr := fmt.Sprintf(`!!document.querySelector(%s)`, jsString(css))
	if err := chromedp.Do(ctx, chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingTimeout(30*time.Second))); err != nil {
		t.Fatalf("waiting for %s: %v", css, err)
	}
}
