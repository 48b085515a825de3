package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// overviewProbe is run in every new document before the page's own scripts: it notes the
// first animation frame in which the overview's table holds want rows, by the page's clock
// (milliseconds since the navigation began).
const overviewProbe = `(() => {
	const want = %d;
	const probe = window.__hearthBench = {rendered: null};
	const rows = () => document.querySelectorAll('[data-test="overview-functions"] [data-test^="function-row-"]').length;
	const obs = new MutationObserver(() => {
		if (rows() < want) return;
		obs.disconnect();
		requestAnimationFrame(t => {
			// Where the time went, for the log: the document, the API's answers the page
			// waited for, then the render.
			const nav = performance.getEntriesByType('navigation')[0];
			const api = (path) => performance.getEntriesByType('resource').find(e => e.name.includes(path));
			const ov = api('/v1/overview'), self = api('/v1/tokens/self');
			probe.phases = {
				dom_ready: nav ? nav.domContentLoadedEventEnd : 0,
				self_answered: self ? self.responseEnd : 0,
				overview_asked: ov ? ov.startTime : 0,
				overview_answered: ov ? ov.responseEnd : 0,
			};
			probe.rendered = t;
		});
	});
	obs.observe(document, {childList: true, subtree: true});
})()`

// timeOverviewLoads signs in to the dashboard in headless chromium and loads the overview
// s.warmup + s.samples times, each as a new document, timing the samples (see dashboardRow).
func timeOverviewLoads(ctx context.Context, exe, base, token string, s dashboardSetup) (sample, error) {
	if _, err := os.Stat(exe); err != nil {
		return nil, fmt.Errorf("no browser at %s (run scripts/chromium.sh, as make bench does, or skip the row with -dashboard=false): %w", exe, err)
	}
	profile, err := os.MkdirTemp("", "hearth-bench-chromium-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(profile)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(exe), chromedp.UserDataDir(profile),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-extensions", true), chromedp.Flag("disable-background-timer-throttling", true),
		chromedp.Flag("disable-renderer-backgrounding", true), chromedp.WindowSize(1280, 800))
	defer cancelAlloc() // kills chromium and waits for it
	// chromedp's own messages are dropped: this chromedp cannot decode some events of newer
	// browsers (IPAddressSpace) and says so on every page load, which means nothing here.
	quiet := func(string, ...any) {}
	tab, cancelTab := chromedp.NewContext(allocCtx, chromedp.WithErrorf(quiet), chromedp.WithLogf(quiet))
	defer cancelTab()

	step := func(what string, limit time.Duration, actions ...chromedp.Action) error {
		c, cancel := context.WithTimeout(tab, limit)
		defer cancel()
		if err := chromedp.Run(c, actions...); err != nil {
			return fmt.Errorf("dashboard: %s: %w", what, err)
		}
		return nil
	}
	// The first run starts the browser under the tab's own context, which outlives each step.
	if err := chromedp.Run(tab, chromedp.ActionFunc(func(ctx context.Context) error {
		_, err := page.AddScriptToEvaluateOnNewDocument(fmt.Sprintf(overviewProbe, s.functions)).Do(ctx)
		return err
	})); err != nil {
		return nil, fmt.Errorf("dashboard: start chromium (%s): %w", exe, err)
	}
	if err := step("sign in", 30*time.Second,
		chromedp.Navigate(base+"/ui/#/signin"),
		chromedp.WaitVisible(`[data-test="signin-token"]`, chromedp.ByQuery),
		chromedp.SetValue(`[data-test="signin-token"]`, token, chromedp.ByQuery),
		chromedp.Click(`[data-test="signin-submit"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`[data-test="overview-functions"]`, chromedp.ByQuery),
	); err != nil {
		return nil, err
	}

	// Chromium cuts off the requests in flight when the machine's network changes, as it does
	// whenever Docker starts or removes a container (the earlier rows' instances stop on their
	// idle timeouts): a load that lost a request is not a figure, and is made again.
	var cut atomic.Int64
	chromedp.ListenTarget(tab, func(ev any) {
		if ev, ok := ev.(*network.EventLoadingFailed); ok && strings.Contains(ev.ErrorText, "ERR_NETWORK_CHANGED") {
			cut.Add(1)
		}
	})
	var out sample
	phases := map[string]sample{}
	redone := 0
	for i := 0; i < s.warmup+s.samples; i++ {
		before := cut.Load()
		if err := step("leave the page", 10*time.Second, chromedp.Navigate("about:blank")); err != nil {
			return nil, err
		}
		if err := step("load the overview", 20*time.Second, chromedp.Navigate(base+"/ui/#/")); err != nil {
			return nil, err
		}
		var got struct {
			Rendered *float64           `json:"rendered"`
			Phases   map[string]float64 `json:"phases"`
		}
		deadline := time.Now().Add(20 * time.Second)
		for {
			if err := step("read the probe", 5*time.Second, chromedp.Evaluate(`window.__hearthBench || {}`, &got)); err != nil {
				return nil, err
			}
			if got.Rendered != nil || (cut.Load() != before && redone < 5) {
				break
			}
			if time.Now().After(deadline) {
				var text string
				_ = step("read the page", 5*time.Second, chromedp.Evaluate(`document.body ? document.body.innerText : ""`, &text))
				if len(text) > 500 {
					text = text[:500]
				}
				return nil, fmt.Errorf("dashboard: the overview did not show %d rows within 20 s; it shows: %s",
					s.functions, strings.TrimSpace(text))
			}
			time.Sleep(20 * time.Millisecond)
		}
		if cut.Load() != before && redone < 5 {
			redone++
			logf("dashboard: the network changed during load %d (a container started or stopped): loading again", i+1)
			i--
			continue
		}
		if i >= s.warmup {
			out = append(out, time.Duration(*got.Rendered*float64(time.Millisecond)))
			for k, v := range got.Phases {
				phases[k] = append(phases[k], time.Duration(v*float64(time.Millisecond)))
			}
		}
	}
	logf("dashboard: median ms from the navigation's start: document ready %s, /v1/tokens/self answered %s, /v1/overview asked %s and answered %s, rendered %s",
		ms(phases["dom_ready"].summarize().P50MS), ms(phases["self_answered"].summarize().P50MS),
		ms(phases["overview_asked"].summarize().P50MS), ms(phases["overview_answered"].summarize().P50MS), ms(out.summarize().P50MS))
	return out, nil
}
