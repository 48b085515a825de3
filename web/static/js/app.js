// app.js: the dashboard's entry point. It signs in, draws the header, and mounts one page per
// hash route, each with an AbortSignal that ends its polls and streams when it is left.

import { getToken, onUnauthorized } from './api.js';
import { h, setText, errorText } from './dom.js';
import { parse, match, go } from './router.js';
import * as session from './session.js';
import * as signin from './pages/signin.js';
import * as overview from './pages/overview.js';
import * as fn from './pages/function.js';
import * as calls from './pages/calls.js';
import * as call from './pages/call.js';
import * as nodes from './pages/nodes.js';

const routes = [
  { pattern: '/signin', page: signin, public: true },
  { pattern: '/', page: overview },
  { pattern: '/functions/:name', page: fn },
  { pattern: '/calls', page: calls },
  { pattern: '/calls/:id', page: call },
  { pattern: '/nodes', page: nodes },
];

const $ = (id) => document.getElementById(id);
let controller = null;
let rendered = 0;
// Said on the sign-in page after the server refused the token mid-session.
let signinNote = '';

onUnauthorized((err) => {
  session.forget();
  // Several polls may be refused at once: the first one goes to the sign-in page.
  if (parse(location.hash).path === '/signin') return;
  signinNote = 'Signed out: the server no longer accepts this token (it is unknown, revoked or expired). ' +
    'Sign in again. The server said: ' + err.message;
  go('/signin', { next: location.hash.slice(1) }, true);
});

/** render mounts the page of the current hash route. */
async function render() {
  if (controller) controller.abort();
  controller = new AbortController();
  const signal = controller.signal;
  showAppError(null);
  const { path, query } = parse(location.hash);
  const m = match(routes, path);
  const main = $('main');

  if (!m) {
    main.replaceChildren(h('h1', { tabindex: '-1' }, 'Not found'),
      h('p', null, 'There is no page here. ', h('a', { href: '#/' }, 'Go to the overview'), '.'));
    return finish(main, 'Not found');
  }
  if (!m.route.public) {
    if (!getToken()) {
      go('/signin', path !== '/' ? { next: location.hash.slice(1) } : null, true);
      return;
    }
    if (!session.current()) {
      try {
        await session.load();
      } catch (err) {
        if (err.status === 401) return; // the 401 handler has gone to the sign-in page
        if (signal.aborted) return;
        main.replaceChildren(h('h1', { tabindex: '-1' }, 'hearth'),
          h('p', { class: 'error', role: 'alert' }, 'Could not read your token from the server: ' + errorText(err)),
          h('p', null, h('button', { type: 'button', onclick: () => render() }, 'Try again')));
        return finish(main, 'hearth');
      }
      if (signal.aborted) return;
    }
  }
  updateHeader(path);
  const ctx = {
    params: m.params,
    query,
    signal,
    note: m.route.page === signin ? takeSigninNote() : '',
    error: showAppError,
    rerender: render,
  };
  main.replaceChildren();
  try {
    const title = await m.route.page.render(main, ctx);
    if (!signal.aborted) finish(main, title);
  } catch (err) {
    if (signal.aborted || err.status === 401) return;
    showAppError(err);
  }
}

function takeSigninNote() {
  const s = signinNote;
  signinNote = '';
  return s;
}

// finish sets the title and, after a navigation (not the first load), moves the focus to the
// page's heading so that a keyboard or screen reader user starts at the new page.
function finish(main, title) {
  document.title = title ? `${title} · hearth` : 'hearth';
  if (rendered++ > 0) {
    const h1 = main.querySelector('h1');
    if (h1) {
      h1.setAttribute('tabindex', '-1');
      h1.focus({ preventScroll: false });
    }
  }
}

function showAppError(err) {
  const el = $('app-error');
  el.hidden = !err;
  setText(el, err ? errorText(err) : '');
}

// updateHeader shows the navigation, the signed-in token and the server's state.
function updateHeader(path) {
  const me = session.current();
  const signedIn = !!me;
  $('nav').hidden = !signedIn;
  $('who').hidden = !signedIn;
  if (signedIn) {
    setText($('whoami'), `${me.name || me.id} · ${me.role}` + (session.scoped() ? ` · ${me.functions.join(', ')}` : ''));
    $('whoami').title = `token ${me.id}, role ${me.role}`;
    for (const a of $('nav').querySelectorAll('a[data-route]')) {
      const r = a.getAttribute('data-route');
      const active = r === '/' ? path === '/' || path.startsWith('/functions/') : path.startsWith(r);
      if (active) a.setAttribute('aria-current', 'page');
      else a.removeAttribute('aria-current');
    }
    $('nav').querySelector('[data-route="/nodes"]').parentElement.hidden = !session.can('nodes');
  }
  const info = session.serverInfo();
  setText($('server-info'), info ? `hearth ${info.version}` + (info.driver ? ` · ${info.driver}` : '') +
    (info.registry ? ` · registry ${info.registry}` : '') : '');
  const problem = $('server-problem');
  const bad = signedIn && info && !info.ready;
  problem.hidden = !bad;
  setText(problem, bad ? 'The server cannot run functions now: ' + (info.problem || 'its engine is not reachable') +
    '. Calls answer 503 until it can.' : '');
}

session.onInfo(() => updateHeader(parse(location.hash).path));

$('signout').addEventListener('click', () => {
  session.forget();
  signinNote = 'Signed out. The token was removed from this tab.';
  go('/signin', null);
});

// The skip link must not change the route: it moves the focus only.
document.querySelector('[data-skip]').addEventListener('click', (ev) => {
  ev.preventDefault();
  $('main').focus();
});

window.addEventListener('hashchange', render);
render();
