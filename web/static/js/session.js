// session.js: who is signed in, and what that token may do.
//
// The role and function scope come from GET /v1/tokens/self, read once per sign-in. The table
// below mirrors the server's (scheduler/auth): the dashboard uses it only to hide or disable
// what would be refused; the server still decides every request.

import { get, clearToken } from './api.js';

// What each role may do: the server's actions, as the dashboard names them.
const RIGHTS = {
  admin: ['read', 'calls', 'logs', 'invoke', 'configure', 'nodes', 'manageNodes'],
  deployer: ['read', 'calls', 'logs', 'invoke', 'configure', 'nodes'],
  invoker: ['calls', 'invoke'],
  viewer: ['read', 'calls', 'logs', 'nodes'],
};

// Which roles may do an action, for the notes that say why something is disabled.
const NEEDS = {
  read: 'viewer, deployer or admin',
  calls: 'any role',
  logs: 'viewer, deployer or admin',
  invoke: 'invoker, deployer or admin',
  configure: 'deployer or admin',
  nodes: 'viewer, deployer or admin without a function scope',
  manageNodes: 'admin',
};

let me = null;
let info = null;

/**
 * load reads the token's record; keep401 leaves a 401 to the caller. The server's info is read
 * alongside but not waited for (it asks the engine, which can take a while): the function set
 * with onInfo gets it.
 */
export async function load(opts = {}) {
  const self = await get('/v1/tokens/self', { keep401: opts.keep401 });
  me = self;
  get('/v1/info').then((inf) => {
    info = inf;
    infoListener(inf);
  }, () => {});
  return me;
}

let infoListener = () => {};

/** onInfo sets what runs when the server's info has been read. */
export function onInfo(fn) {
  infoListener = fn;
}

/** current returns the signed-in token's record, or null before load. */
export function current() {
  return me;
}

export function serverInfo() {
  return info;
}

/** forget signs the tab out. */
export function forget() {
  me = null;
  info = null;
  clearToken();
}

/** scoped reports whether the token is limited to some functions. */
export function scoped() {
  return !!(me && me.functions && me.functions.length);
}

/** covers reports whether the token's scope includes fn. */
export function covers(fn) {
  return !scoped() || me.functions.includes(fn);
}

/**
 * can says whether the token may do act ("read", "calls", "logs", "invoke", "configure",
 * "nodes", "manageNodes"), for function fn when the action is about one.
 */
export function can(act, fn) {
  if (!me) return false;
  if (!(RIGHTS[me.role] || []).includes(act)) return false;
  if ((act === 'nodes' || act === 'manageNodes') && scoped()) return false;
  return fn ? covers(fn) : true;
}

/** whyNot says, for a note beside a disabled control, what act needs. */
export function whyNot(act) {
  const role = me ? me.role : 'none';
  return `This needs a token with the role ${NEEDS[act]}; yours has the role ${role}` +
    (scoped() ? ` for ${me.functions.join(', ')}.` : '.');
}
