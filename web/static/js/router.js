// router.js: hash routes ("#/functions/hello?x=1") matched against patterns ("/functions/:name").
//
// Hash routes need nothing from the server: every page is /ui/ and index.html, and a reload
// or a shared link opens the same page.

/** parse splits a location hash into its path and query. */
export function parse(hash) {
  const raw = (hash || '').replace(/^#/, '') || '/';
  const q = raw.indexOf('?');
  const path = q >= 0 ? raw.slice(0, q) : raw;
  return { path: path || '/', query: new URLSearchParams(q >= 0 ? raw.slice(q + 1) : '') };
}

/**
 * match finds the first route whose pattern fits path; ":name" segments become params,
 * decoded. routes: [{ pattern, ...anything }].
 */
export function match(routes, path) {
  const parts = path.split('/').filter(Boolean);
  for (const route of routes) {
    const want = route.pattern.split('/').filter(Boolean);
    if (want.length !== parts.length) continue;
    const params = {};
    let ok = true;
    for (let i = 0; i < want.length && ok; i++) {
      if (want[i].startsWith(':')) {
        try {
          params[want[i].slice(1)] = decodeURIComponent(parts[i]);
        } catch {
          ok = false;
        }
      } else {
        ok = want[i] === parts[i];
      }
    }
    if (ok) return { route, params };
  }
  return null;
}

/** href makes a hash link from a path and query parameters (empty ones left out). */
export function href(path, query) {
  let s = '#' + path;
  if (query) {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) if (v) q.set(k, v);
    if ([...q.keys()].length) s += '?' + q.toString();
  }
  return s;
}

/** go navigates to a path; replace keeps the current entry out of the history. */
export function go(path, query, replace = false) {
  const target = href(path, query);
  // Setting the same hash fires no event, nor does replaceState: send one so the page renders.
  const same = location.hash === target;
  if (replace) history.replaceState(null, '', target);
  else location.hash = target;
  if (replace || same) window.dispatchEvent(new HashChangeEvent('hashchange'));
}
