// live.js: polling that keeps a page current without piling up requests.
//
// A poll runs fn, waits interval ms after it finished (never two at once), and pauses while
// the tab is hidden: a dashboard left open in a background tab costs the server nothing. It
// ends when signal (the page's) is aborted, that is when the page is left.

/**
 * poll calls fn(signal) now and every intervalMs after each run ends. It returns { now() }, to
 * run fn at once (after a change the user made), and { setInterval(ms) }.
 */
export function poll(fn, intervalMs, signal) {
  let timer = 0;
  let running = false;
  let again = false;
  async function tick() {
    clearTimeout(timer);
    if (signal.aborted || document.hidden) return; // visibilitychange starts it again
    if (running) {
      again = true;
      return;
    }
    running = true;
    try {
      await fn(signal);
    } catch (err) {
      // fn shows its own errors; an abort is the page going away.
      if (err && err.name !== 'AbortError') console.error(err);
    }
    running = false;
    if (signal.aborted || document.hidden) return;
    if (again) {
      again = false;
      tick();
      return;
    }
    timer = setTimeout(tick, intervalMs);
  }
  const onVisibility = () => {
    if (!document.hidden) tick();
  };
  document.addEventListener('visibilitychange', onVisibility);
  signal.addEventListener('abort', () => {
    clearTimeout(timer);
    document.removeEventListener('visibilitychange', onVisibility);
  });
  tick();
  return {
    now: tick,
    setInterval(ms) {
      intervalMs = ms;
    },
  };
}

/** isAbort reports whether err is the page being left rather than a failure to show. */
export function isAbort(err) {
  return err && err.name === 'AbortError';
}
