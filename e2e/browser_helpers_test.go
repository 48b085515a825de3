//go:build e2e

package e2e

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// chromiumPath is Debian's chromium, which scripts/chromium.sh installs; HEARTH_CHROMIUM names
// another build.
func chromiumPath(t *testing.T) string {
	t.Helper()
	p := os.Getenv("HEARTH_CHROMIUM")
	if p == "" {
		p = "/usr/bin/chromium"
	}
	// A missing browser fails the test: `make test` installs it, so its absence is a broken
	// set-up, not a reason to pass without testing the dashboard.
	if _, err := exec.LookPath(p); err != nil {
		t.Fatalf("no browser at %s (%v): run `bash scripts/chromium.sh` (make test does) or set HEARTH_CHROMIUM", p, err)
	}
	return p
}

// Widths of the screenshots: a laptop's and a phone's, in CSS pixels.
const (
	laptopWidth, laptopHeight = 1280, 800
	phoneWidth, phoneHeight   = 390, 844
)

// browser is one headless chromium with one tab, pointed at a hearth server's dashboard.
type browser struct {
	t    *testing.T
	ctx  context.Context // the tab's; every action runs under it
	base string          // the server's URL
	// step bounds each wait; the test's own deadline bounds the whole.
	step time.Duration
	// log is where the browser's and the page's messages go: the test that started it.
	log *browserLog
	// netChanged counts the page's requests that chromium cut off because the machine's
	// network changed (see open).
	netChanged *atomic.Int64
}

// on is the browser for a subtest: its failures end the subtest, not the whole test.
func (b *browser) on(t *testing.T) *browser {
	return &browser{t: t, ctx: b.ctx, base: b.base, step: b.step, log: b.log, netChanged: b.netChanged}
}

// browserLog passes messages to a test's log until the test ends (after which logging through
// it would panic), each message once: a page that polls repeats its failures every 2 s.
type browserLog struct {
	mu   sync.Mutex
	t    *testing.T
	done bool
	seen map[string]bool
}

func (l *browserLog) logf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.done || l.seen[msg] {
		return
	}
	if l.seen == nil {
		l.seen = map[string]bool{}
	}
	l.seen[msg] = true
	l.t.Log(msg)
}

// newBrowser starts chromium for the test with a fresh profile in a temp dir and opens one
// tab; the browser process and the profile go at the test's end. The whole session is bounded
// by timeout.
func newBrowser(t *testing.T, s *server, timeout time.Duration) *browser {
	t.Helper()
	exe := chromiumPath(t)
	profile := t.TempDir() // removed after the browser has exited (cleanups run last-in, first-out)
	b := &browser{t: t, base: s.URL, step: 15 * time.Second, log: &browserLog{t: t}, netChanged: &atomic.Int64{}}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(exe),
		chromedp.UserDataDir(profile),
		chromedp.Headless,
		chromedp.NoSandbox, // the tests run as root, where chromium refuses its sandbox
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-extensions", true),
		// The dashboard pauses its polling in a hidden tab; a headless tab must not look hidden.
		chromedp.Flag("disable-background-timer-throttling", true),
		chromedp.Flag("disable-renderer-backgrounding", true),
		chromedp.Flag("disable-backgrounding-occluded-windows", true),
		chromedp.WindowSize(laptopWidth, laptopHeight),
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	deadlineCtx, cancelDeadline := context.WithTimeout(allocCtx, timeout)
	tabCtx, cancelTab := chromedp.NewContext(deadlineCtx,
		chromedp.WithErrorf(b.browserLog("chromedp error")),
		chromedp.WithLogf(b.browserLog("chromedp")))
	b.ctx = tabCtx
	t.Cleanup(func() {
		b.log.mu.Lock()
		b.log.done = true
		b.log.mu.Unlock()
		cancelTab()
		cancelDeadline()
		cancelAlloc() // kills chromium and waits for it to exit
	})
	// The page's console errors and uncaught exceptions go to the test's log: when a step
	// fails they say why the page did not show what was awaited.
	chromedp.ListenTarget(tabCtx, func(ev any) {
		switch ev := ev.(type) {
		case *runtime.EventConsoleAPICalled:
			if ev.Type != runtime.APITypeError && ev.Type != runtime.APITypeWarning {
				return
			}
			var args []string
			for _, a := range ev.Args {
				args = append(args, strings.Trim(string(a.Value), `"`)+a.Description)
			}
			b.logf("page console.%s: %s", ev.Type, strings.Join(args, " "))
		case *network.EventLoadingFailed:
			if strings.Contains(ev.ErrorText, "ERR_NETWORK_CHANGED") {
				b.netChanged.Add(1)
			}
		case *cdplog.EventEntryAdded:
			// The browser's own complaints: a module that failed to load, a failed request.
			if e := ev.Entry; e.Level == cdplog.LevelError || e.Level == cdplog.LevelWarning {
				b.logf("page %s %s: %s %s", e.Source, e.Level, e.Text, e.URL)
			}
		case *runtime.EventExceptionThrown:
			d := ev.ExceptionDetails
			msg := d.Text
			if d.Exception != nil && d.Exception.Description != "" {
				msg = d.Exception.Description
			}
			b.logf("page exception at %s:%d: %s", d.URL, d.LineNumber, msg)
		}
	})
	// The first run starts the browser under the tab's own context: a browser started under a
	// shorter-lived context would die with it.
	if err := chromedp.Run(tabCtx, chromedp.EmulateViewport(laptopWidth, laptopHeight)); err != nil {
		t.Fatalf("start chromium (%s): %v", exe, err)
	}
	return b
}

// browserLog routes chromedp's messages to the test's log, without the lines newer browsers
// cause that this chromedp cannot decode and that mean nothing for the test (an event field,
// IPAddressSpace, it does not know).
func (b *browser) browserLog(prefix string) func(string, ...any) {
	return func(format string, args ...any) {
		msg := fmt.Sprintf(format, args...)
		if strings.Contains(msg, "IPAddressSpace") || strings.Contains(msg, "could not unmarshal event") {
			return
		}
		b.logf("%s: %s", prefix, msg)
	}
}

func (b *browser) logf(format string, args ...any) { b.log.logf(format, args...) }

// sel is the CSS selector of the element with the data-test hook name.
func sel(name string) string { return fmt.Sprintf(`[data-test=%q]`, name) }

// run runs actions within one step's time; what failed and why fails the test.
func (b *browser) run(what string, actions ...chromedp.Action) {
	b.t.Helper()
	if err := b.runErr(b.step, actions...); err != nil {
		b.fail(what, err)
	}
}

func (b *browser) runErr(limit time.Duration, actions ...chromedp.Action) error {
	ctx, cancel := context.WithTimeout(b.ctx, limit)
	defer cancel()
	return chromedp.Run(ctx, actions...)
}

// fail ends the test with what went wrong, the page's address and the text it showed.
func (b *browser) fail(what string, err error) {
	b.t.Helper()
	if errors.Is(err, context.DeadlineExceeded) {
		err = fmt.Errorf("not within %s", b.step)
	}
	var url, text string
	ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
	defer cancel()
	_ = chromedp.Run(ctx, chromedp.Location(&url), chromedp.Evaluate(`document.body ? document.body.innerText : ""`, &text))
	if len(text) > 3000 {
		text = text[:3000] + "..."
	}
	b.t.Fatalf("browser: %s: %v\npage %s shows:\n%s", what, err, url, text)
}

// open goes to the dashboard's route (a hash such as "#/nodes"), as a link would; on the route
// already shown it reloads the page (a navigation to the same address would not happen).
//
// Chromium cuts off the requests in flight when the machine's network changes, which it does
// whenever Docker starts or removes a container (its virtual interface comes or goes). A page
// whose modules were cut off never starts: it is loaded again, as a person would reload it.
func (b *browser) open(route string) {
	b.t.Helper()
	target := b.base + "/ui/" + route
	for attempt := 1; ; attempt++ {
		var here string
		b.run("read the address", chromedp.Location(&here))
		load := chromedp.Action(chromedp.Navigate(target))
		if here == target {
			load = chromedp.Reload()
		}
		before := b.netChanged.Load()
		err := b.runErr(b.step, load)
		cut := b.netChanged.Load() != before || (err != nil && strings.Contains(err.Error(), "ERR_NETWORK_CHANGED"))
		if err != nil && (!cut || attempt == 3) {
			b.fail("open "+route, err)
		}
		if !cut || attempt == 3 {
			return
		}
		b.logf("the network changed while %s loaded (a container started or stopped): loading it again", route)
	}
}

// signIn opens the sign-in page, enters token and submits it. It does not wait for the
// outcome: the caller waits for what it expects (the overview, or an error).
func (b *browser) signIn(token string) {
	b.t.Helper()
	b.open("#/signin")
	b.waitVisible("signin-token")
	b.setValue("signin-token", token)
	b.click("signin-submit")
}

// signOut signs out with the header's button, which forgets the tab's token, and waits for
// the sign-in page.
func (b *browser) signOut() {
	b.t.Helper()
	b.click("signout")
	b.waitVisible("signin-token")
	var left string
	b.eval("read the session's token", `JSON.stringify(sessionStorage)`, &left)
	if strings.Contains(left, "hth_") {
		b.t.Errorf("after sign-out the tab still keeps a token: %s", left)
	}
}

// waitVisible waits until the element with the data-test hook name is shown.
func (b *browser) waitVisible(name string) {
	b.t.Helper()
	b.run("wait for "+sel(name)+" to show", chromedp.WaitVisible(sel(name), chromedp.ByQuery))
}

// text returns the visible text of the element with the hook name, once it is shown.
func (b *browser) text(name string) string {
	b.t.Helper()
	return b.textOf(sel(name))
}

// textOf returns the visible text of the first element matching the CSS selector css.
func (b *browser) textOf(css string) string {
	b.t.Helper()
	var s string
	b.run("read the text of "+css, chromedp.WaitVisible(css, chromedp.ByQuery), chromedp.Text(css, &s, chromedp.ByQuery))
	return strings.TrimSpace(s)
}

// click clicks the element with the hook name once it is shown.
func (b *browser) click(name string) {
	b.t.Helper()
	b.run("click "+sel(name), chromedp.WaitVisible(sel(name), chromedp.ByQuery), chromedp.Click(sel(name), chromedp.ByQuery))
}

// setValue replaces the value of the input, select or textarea with the hook name, and fires
// the input and change events a person's typing would.
func (b *browser) setValue(name, value string) {
	b.t.Helper()
	js := fmt.Sprintf(`(() => {
		const el = document.querySelector(%q);
		if (!el) return false;
		el.focus();
		el.value = %q;
		el.dispatchEvent(new Event("input", {bubbles: true}));
		el.dispatchEvent(new Event("change", {bubbles: true}));
		return true;
	})()`, sel(name), value)
	var ok bool
	b.run("set the value of "+sel(name), chromedp.WaitVisible(sel(name), chromedp.ByQuery), chromedp.Evaluate(js, &ok))
	if !ok {
		b.t.Fatalf("browser: %s vanished before its value was set", sel(name))
	}
}

// eval evaluates a JavaScript expression in the page into out.
func (b *browser) eval(what, js string, out any) {
	b.t.Helper()
	b.run(what, chromedp.Evaluate(js, out))
}

// waitFor polls the JavaScript expression js until it is true, for at most limit.
func (b *browser) waitFor(what, js string, limit time.Duration) {
	b.t.Helper()
	deadline := time.Now().Add(limit)
	for {
		var ok bool
		err := b.runErr(5*time.Second, chromedp.Evaluate(js, &ok))
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			if err == nil {
				err = fmt.Errorf("not within %s", limit)
			}
			b.fail(what, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// hasText is a JavaScript expression: the element matching css shows text containing want.
func hasText(css, want string) string {
	return fmt.Sprintf(`(() => { const el = document.querySelector(%q); return !!el && el.innerText.includes(%q); })()`, css, want)
}

// enabled reports whether the element with the hook name is in the page, shown and enabled
// (a control a person could use).
func (b *browser) enabled(name string) bool {
	b.t.Helper()
	js := fmt.Sprintf(`(() => {
		const el = document.querySelector(%q);
		if (!el) return false;
		const style = getComputedStyle(el);
		const shown = el.getClientRects().length > 0 && style.visibility !== "hidden";
		return shown && !el.disabled && el.getAttribute("aria-disabled") !== "true" && !el.closest("fieldset[disabled]");
	})()`, sel(name))
	var ok bool
	b.eval("check whether "+sel(name)+" is usable", js, &ok)
	return ok
}

// imagesDir is where the screenshots the docs show live, from the e2e package's directory.
const imagesDir = "../docs/images"

// screenshot saves the whole page (not only the visible part) at the given width as
// docs/images/NAME.png, and restores the laptop viewport.
func (b *browser) screenshot(name string, width int64) {
	b.t.Helper()
	var png []byte
	height := int64(laptopHeight)
	if width == phoneWidth {
		height = phoneHeight
	}
	b.run("screenshot "+name,
		chromedp.EmulateViewport(width, height),
		// Let the page lay itself out at the new width before its size is read.
		chromedp.Sleep(300*time.Millisecond),
		chromedp.ActionFunc(func(ctx context.Context) error {
			_, _, _, _, _, content, err := page.GetLayoutMetrics().Do(ctx)
			if err != nil {
				return err
			}
			h := int64(math.Ceil(content.Height))
			if h < height {
				h = height
			}
			// The full height as the viewport: one capture of the whole page.
			if err := emulation.SetDeviceMetricsOverride(width, h, 1, width == phoneWidth).Do(ctx); err != nil {
				return err
			}
			png, err = page.CaptureScreenshot().WithFormat(page.CaptureScreenshotFormatPng).WithFromSurface(true).Do(ctx)
			return err
		}),
		chromedp.EmulateViewport(laptopWidth, laptopHeight),
	)
	if err := os.MkdirAll(imagesDir, 0o755); err != nil {
		b.t.Fatal(err)
	}
	path := filepath.Join(imagesDir, name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Fatal(err)
	}
	b.t.Logf("screenshot %s (%d bytes)", path, len(png))
}
