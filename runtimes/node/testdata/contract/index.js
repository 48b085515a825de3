'use strict';
// The node runtime's contract function: runtimes/contract/contracttest calls it by path.
const { setTimeout: sleep } = require('node:timers/promises');

module.exports = async function handle(req, ctx) {
  switch (req.path) {
    case '/echo': {
      const headers = { 'Content-Type': req.headers['content-type'] };
      for (const [name, value] of Object.entries(req.headers)) {
        if (name.startsWith('x-echo-')) headers[name] = value;
      }
      return ctx.response({ status: Number(req.query.status || 200), headers, body: req.body });
    }
    case '/fail':
      throw new Error('contract failure');
    case '/sleep':
      await sleep(Number(req.query.ms || 0)); // the deadline is ignored on purpose
      return 'slept';
    case '/info':
      return {
        method: req.method,
        path: req.path,
        query: req.rawQuery,
        call_id: ctx.callId,
        deadline: ctx.deadline ? ctx.deadline.toISOString() : '',
        env: ctx.config.CONTRACT_ENV || '',
      };
    default:
      return ctx.response({ status: 404, body: `no ${req.path} in the contract function` });
  }
};
