// A function's settings: what `hearth config` can change, sent as PATCH .../config.
//
// The form sends only what was changed, as typed: the server checks the values with
// func.yaml's rules and its 400 names the bad one in error.field, shown beside that field.
// Nothing is checked here beyond what JSON needs, so that the server's words are the ones seen.

import { patch, seg } from '../api.js';
import { h, setText, section, message, errorText } from '../dom.js';
import * as session from '../session.js';

// The settings, in `hearth config`'s order and with func.yaml's names, with the defaults the
// server fills in (api.FunctionSpec.WithDefaults): a stored 0 means the default where 0 is not a
// valid value. cpu is text as func.yaml writes it ("500m", "0.5"); the spec leaves it out when
// there is no limit, which the form shows, and sends, as "0".
const FIELDS = [
  { key: 'memory', label: 'Memory (MB)', kind: 'int', def: 128, help: '16 to 16384' },
  { key: 'cpu', label: 'CPU', kind: 'text', def: '0', help: '"500m" (millicores) or "0.5" (cores); 0 for no limit' },
  { key: 'timeout', label: 'Timeout', kind: 'duration', def: '30s', help: 'one call\u2019s limit, up to 15m' },
  { key: 'idle_timeout', label: 'Idle timeout', kind: 'duration', def: '30s', help: 'an instance unused this long is paused' },
  { key: 'pause_timeout', label: 'Pause timeout', kind: 'duration', def: '5m', help: 'a paused instance is stopped after this' },
  { key: 'concurrency', label: 'Concurrency', kind: 'int', def: 1, help: 'calls one instance takes at once, 1 to 1000' },
  { key: 'min_instances', label: 'Min instances', kind: 'int', zero: true, help: 'kept ready even with no calls' },
  { key: 'max_instances', label: 'Max instances', kind: 'int', def: 10, help: 'at least 1 and min instances' },
  { key: 'queue', label: 'Queue', kind: 'int', def: 100, help: 'calls that may wait for a slot, 1 to 10000' },
  { key: 'public', label: 'Public', kind: 'bool', help: 'anyone may call it without a token' },
];

/** durationText writes a Go duration ("5m0s") the short way ("5m"); "0s" is no value. */
export function durationText(d) {
  if (!d || d === '0s') return '';
  return String(d).replace(/(\d)m0s$/, '$1m').replace(/(\d)h0m$/, '$1h');
}

/** valuesOf returns a spec's settings as the form's strings, defaults filled in. */
export function valuesOf(spec) {
  const v = {};
  for (const f of FIELDS) {
    const raw = spec[f.key];
    if (f.kind === 'bool') v[f.key] = !!raw;
    else if (f.kind === 'duration') v[f.key] = durationText(raw) || f.def;
    else if (f.kind === 'text') v[f.key] = raw ? String(raw) : f.def;
    else v[f.key] = String(raw || (f.zero ? 0 : f.def));
  }
  return v;
}

/** jsonValue turns what was typed into the JSON to send: a whole number as a number, else as typed. */
function jsonValue(f, text) {
  if (f.kind === 'bool') return text;
  const s = text.trim();
  if (f.kind === 'int' && /^-?\d+$/.test(s)) return Number(s);
  return s;
}

/**
 * settingsSection makes the settings form. update(fn) fills it from the function unless the
 * user has changed something not yet saved; onSaved runs after a successful save.
 */
export function settingsSection(name, { canEdit, onSaved }) {
  const inputs = {};
  const errors = {};
  const grid = h('div', { class: 'fields' });
  for (const f of FIELDS) {
    const id = 'config-' + f.key;
    const err = h('p', { id: id + '-error', class: 'field-error', test: 'config-error-' + f.key, role: 'alert', hidden: true });
    errors[f.key] = err;
    let input;
    if (f.kind === 'bool') {
      input = h('input', { id, type: 'checkbox', test: 'config-field-' + f.key, 'aria-describedby': `${id}-help ${id}-error` });
      grid.append(h('div', { class: 'field check' },
        h('div', { class: 'check-row' }, input, h('label', { for: id }, f.label)),
        h('p', { id: id + '-help', class: 'help' }, f.help), err));
    } else {
      input = h('input', {
        id, type: 'text', test: 'config-field-' + f.key, autocomplete: 'off', spellcheck: 'false',
        inputmode: f.kind === 'int' ? 'numeric' : null, 'aria-describedby': `${id}-help ${id}-error`,
      });
      grid.append(h('div', { class: 'field' }, h('label', { for: id }, f.label), input,
        h('p', { id: id + '-help', class: 'help' }, f.help), err));
    }
    inputs[f.key] = input;
  }

  const env = envEditor();
  errors.env = env.error;
  const status = h('p', { class: 'status', test: 'config-status', role: 'status', 'aria-live': 'polite' });
  const save = h('button', { type: 'submit', test: 'config-save' }, 'Save settings');
  const reset = h('button', { type: 'button', class: 'secondary', test: 'config-reset' }, 'Undo changes');
  const fieldset = h('fieldset', { disabled: !canEdit },
    h('legend', { class: 'sr-only' }, 'Settings of ' + name), grid, env.el,
    h('div', { class: 'actions' }, save, reset));
  const form = h('form', { test: 'config-form', novalidate: true }, fieldset, status);
  const notes = [h('p', { class: 'help' }, 'Saving records a new version with the same image. A later ',
    h('code', null, 'hearth deploy'), ' applies func.yaml again and overrides what is changed here.')];
  if (!canEdit) notes.unshift(message(session.whyNot('configure') + ' The settings are shown read-only.', 'note', 'config-readonly'));
  const el = section('Settings', 'fn-settings', notes, form);

  let original = null;
  let originalEnv = {};
  let version = 0;

  function fill(spec) {
    original = valuesOf(spec);
    originalEnv = { ...(spec.env || {}) };
    for (const f of FIELDS) {
      if (f.kind === 'bool') inputs[f.key].checked = original[f.key];
      else inputs[f.key].value = original[f.key];
    }
    env.fill(originalEnv);
  }

  function current(f) {
    return f.kind === 'bool' ? inputs[f.key].checked : inputs[f.key].value;
  }

  // changes returns the PATCH body: the fields whose text differs from what was loaded.
  function changes() {
    const body = {};
    for (const f of FIELDS) {
      const v = current(f);
      if (f.kind === 'bool' ? v !== original[f.key] : v.trim() !== original[f.key]) body[f.key] = jsonValue(f, v);
    }
    const envPatch = env.changes(originalEnv);
    if (Object.keys(envPatch).length) body.env = envPatch;
    return body;
  }

  function clearErrors() {
    for (const [k, e] of Object.entries(errors)) {
      e.hidden = true;
      e.textContent = '';
      if (inputs[k]) inputs[k].removeAttribute('aria-invalid');
    }
    env.clearInvalid();
    setText(status, '');
    status.className = 'status';
  }

  function showFieldError(err) {
    const field = err.field || '';
    const key = field.startsWith('env') ? 'env' : field;
    const target = errors[key];
    if (!target) {
      status.className = 'status error';
      setText(status, 'Not saved: ' + errorText(err));
      return;
    }
    target.hidden = false;
    setText(target, err.message);
    setText(status, 'Not saved: the settings were refused; see the message beside ' + (key === 'env' ? 'the environment' : 'the field') + '.');
    status.className = 'status error';
    if (key === 'env') {
      env.markInvalid(field.slice(4));
    } else {
      inputs[key].setAttribute('aria-invalid', 'true');
      inputs[key].focus();
    }
  }

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (!original) return;
    clearErrors();
    const body = changes();
    if (!Object.keys(body).length) {
      setText(status, 'Nothing changed.');
      return;
    }
    save.disabled = true;
    setText(status, 'Saving…');
    try {
      const fn = await patch('/v1/functions/' + seg(name) + '/config', body);
      const changed = fn.version.number !== version;
      version = fn.version.number;
      fill(fn.version.spec || {});
      status.className = 'status ok';
      setText(status, changed ? `Saved: version ${version} is rolling out.` : 'Saved: the function already had these settings.');
      if (onSaved) onSaved(fn);
    } catch (err) {
      showFieldError(err);
    } finally {
      save.disabled = false;
    }
  });
  reset.addEventListener('click', () => {
    clearErrors();
    version = 0; // fill again from the next poll, or now from what was loaded
    if (lastSpec) fill(lastSpec);
  });

  let lastSpec = null;
  return {
    el,
    update(fn) {
      lastSpec = fn.version.spec || {};
      // A new version (a deploy, or a change from elsewhere) refills the form, unless the user
      // is in the middle of an edit: their typing is never overwritten.
      if (fn.version.number === version) return;
      if (original && Object.keys(changes()).length) return;
      version = fn.version.number;
      fill(lastSpec);
    },
  };
}

// envEditor edits the function's environment: a row per variable. What is sent is a merge:
// a new or changed value sets the variable, a removed row (or an emptied value) unsets it.
function envEditor() {
  const list = h('div', { class: 'env-rows', test: 'config-field-env' });
  const error = h('p', { id: 'config-env-error', class: 'field-error', test: 'config-error-env', role: 'alert', hidden: true });
  let n = 0;
  const add = h('button', { type: 'button', class: 'secondary small', test: 'config-env-add', onclick: () => row('', '', true) }, 'Add variable');
  const el = h('fieldset', { class: 'env', 'aria-describedby': 'config-env-help config-env-error' },
    h('legend', null, 'Environment'),
    h('p', { id: 'config-env-help', class: 'help' }, 'Set in every instance. An empty value removes the variable.'),
    list, add, error);

  function row(k, v, focus) {
    const i = n++;
    const name = h('input', { id: `config-env-name-${i}`, class: 'mono', value: k, autocomplete: 'off', spellcheck: 'false', test: 'config-env-name' });
    const value = h('input', { id: `config-env-value-${i}`, class: 'mono', value: v, autocomplete: 'off', spellcheck: 'false', test: 'config-env-value' });
    const r = h('div', { class: 'env-row', test: 'config-env-row' },
      h('label', { for: name.id, class: 'sr-only' }, 'Variable name'), name,
      h('span', { 'aria-hidden': 'true' }, '='),
      h('label', { for: value.id, class: 'sr-only' }, 'Value'), value,
      h('button', {
        type: 'button', class: 'secondary small', test: 'config-env-remove', 'aria-label': 'Remove this variable',
        onclick: () => {
          r.remove();
          add.focus();
        },
      }, 'Remove'));
    list.append(r);
    if (focus) name.focus();
  }

  function rows() {
    return [...list.querySelectorAll('.env-row')].map((r) => {
      const [name, value] = r.querySelectorAll('input');
      return { name, value };
    });
  }

  return {
    el,
    error,
    fill(env) {
      list.replaceChildren();
      for (const k of Object.keys(env).sort()) row(k, env[k], false);
    },
    changes(original) {
      const out = {};
      const seen = new Set();
      for (const { name, value } of rows()) {
        const k = name.value.trim();
        if (!k && !value.value) continue;
        seen.add(k);
        if (original[k] !== value.value) out[k] = value.value === '' ? null : value.value;
      }
      for (const k of Object.keys(original)) if (!seen.has(k)) out[k] = null;
      // A variable not set before and sent empty changes nothing: leave it out.
      for (const k of Object.keys(out)) if (out[k] === null && !(k in original)) delete out[k];
      return out;
    },
    markInvalid(name) {
      for (const { name: input } of rows()) {
        if (input.value.trim() === name) {
          input.setAttribute('aria-invalid', 'true');
          input.focus();
          return;
        }
      }
    },
    clearInvalid() {
      for (const { name } of rows()) name.removeAttribute('aria-invalid');
    },
  };
}
