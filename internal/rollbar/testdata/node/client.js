// Reports errors with the real rollbar.js (Node) client to waggle.
// Run by internal/rollbar's TestRollbarJSNode:
//   ROLLBAR_ENDPOINT=http://127.0.0.1:port/api/1/item/ ROLLBAR_TOKEN=… TRACE_ID=… node client.js
const Rollbar = require('rollbar');

const rollbar = new Rollbar({
  accessToken: process.env.ROLLBAR_TOKEN,
  endpoint: process.env.ROLLBAR_ENDPOINT,
  environment: 'production',
  codeVersion: 'abc123',
  captureUncaught: false,
  captureUnhandledRejections: false,
  itemsPerMinute: 1000,
});

function inner() { throw new TypeError('x is not a function'); }
function outer() {
  try { inner(); } catch (e) { const err = new Error('outer failed'); err.cause = e; throw err; }
}
function fail(n) { throw new RangeError('index ' + n + ' out of range'); }

const pending = [];
function send(fn) { pending.push(new Promise((resolve) => fn(resolve))); }

send((cb) => rollbar.warning('Hello World!', cb));
for (let i = 0; i < 3; i++) {
  try { fail(100 + i); } catch (e) { send((cb) => rollbar.error(e, cb)); }
}
try { outer(); } catch (e) { send((cb) => rollbar.error(e, cb)); }
send((cb) => rollbar.error(new Error('fingerprinted a'), { fingerprint: 'node-custom-fp' }, cb));
send((cb) => rollbar.error(new Error('fingerprinted b'), { fingerprint: 'node-custom-fp' }, cb));
const req = {
  method: 'GET', url: '/items/5', protocol: 'http',
  headers: { host: 'app.example', traceparent: '00-' + process.env.TRACE_ID + '-00f067aa0ba902b7-01' },
};
send((cb) => rollbar.error(new Error('item lookup failed'), req, cb));

Promise.all(pending).then(() => rollbar.wait(() => process.exit(0)));
setTimeout(() => { console.error('timed out'); process.exit(1); }, 20000);
