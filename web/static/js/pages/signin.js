// The sign-in page: a token, checked with GET /v1/tokens/self before it is kept.

import { setToken, clearToken } from '../api.js';
import { h, setText } from '../dom.js';
import { go } from '../router.js';
import * as session from '../session.js';

export async function render(root, ctx) {
  const input = h('input', {
    id: 'signin-token', type: 'password', autocomplete: 'off', spellcheck: 'false', required: true,
    test: 'signin-token', 'aria-describedby': 'signin-help signin-error',
  });
  const error = h('p', { id: 'signin-error', class: 'error', role: 'alert', test: 'signin-error', hidden: !ctx.note }, ctx.note);
  const submit = h('button', { type: 'submit', test: 'signin-submit' }, 'Sign in');
  const form = h('form', { class: 'signin card', test: 'signin-form', novalidate: true },
    h('label', { for: 'signin-token' }, 'API token'),
    input,
    h('p', { id: 'signin-help', class: 'help' },
      'A token made with ', h('code', null, 'hearth token create --role viewer'),
      ' (or the admin token in the server\u2019s data directory). It is kept in this tab only, until you sign out or close it, and sent as a bearer header: never as a cookie.'),
    h('div', { class: 'actions' }, submit),
    error);

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const token = input.value.trim();
    if (!token) {
      showError('Enter a token: it begins with hth_.');
      input.focus();
      return;
    }
    submit.disabled = true;
    setText(submit, 'Signing in…');
    setToken(token);
    try {
      await session.load({ keep401: true });
      input.value = '';
      const next = ctx.query.get('next');
      // Only an in-app route: a next that is not one would be a way to send people elsewhere.
      if (next && next.startsWith('/') && !next.startsWith('//') && !next.startsWith('/signin')) {
        location.hash = '#' + next;
      } else {
        go('/', null);
      }
    } catch (err) {
      clearToken();
      session.forget();
      if (err.status === 401) {
        showError('That token was not accepted: it is unknown, revoked or expired. The server said: ' + err.message);
      } else {
        showError('Could not sign in: ' + (err.name === 'TypeError' ? 'the server could not be reached.' : err.message));
      }
      input.focus();
      input.select();
    } finally {
      submit.disabled = false;
      setText(submit, 'Sign in');
    }
  });

  function showError(text) {
    error.hidden = false;
    setText(error, text);
    input.setAttribute('aria-invalid', 'true');
  }

  root.append(h('h1', null, 'Sign in'), form);
  input.focus();
  return 'Sign in';
}
