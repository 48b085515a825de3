'use strict';
// The function's handler. hearth calls handle for every request routed to the function.
//
// req has method, path, query, rawQuery, headers, body (a Buffer), text() and json(); ctx has
// callId, deadline, remainingMs(), signal, config (the function's env), log and response().
// Return a string, a Buffer, any other JSON value (sent as JSON), undefined, or
// ctx.response({status, headers, body}). See docs/user/runtimes/node.md.

// Greets the caller: a JSON body {"name": "Ada"} gets "Hello, Ada!", an empty body gets
// "Hello, world!".
module.exports = async function handle(req, ctx) {
  let data;
  try {
    data = req.json();
  } catch {
    return ctx.response({ status: 400, body: 'send JSON such as {"name": "Ada"}' });
  }
  const name = data !== null && typeof data === 'object' ? data.name : undefined;
  return `Hello, ${name || 'world'}!`;
};
