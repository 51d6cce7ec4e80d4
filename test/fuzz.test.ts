// A bounded mutation fuzz of request lines and headers against the gateway hosting the sample
// app (reliability/lib/fuzz.ts makes the inputs). After every batch: the gateway still answers a
// valid request, no worker exited or was killed (the master's log), the pids are the same. Every
// answer must be a well-formed HTTP/1.1 response (or none), and never a 5xx: a 500 means the
// app or the gateway threw on input it should have refused.
//
// FUZZ_SECONDS (default 15) bounds the run; FUZZ_SECONDS=300 for a longer pass on demand.
// FUZZ_SEED replays a run; the seed is printed as a diagnostic. A crash found here is minimized
// into test/bad-input.test.ts and fixed in server/src.
import { strict as assert } from 'node:assert';
import { after, before, test } from 'node:test';
import { exchange, statuses } from '@gw/harness';
import { type FuzzCase, generate, rng } from '../reliability/lib/fuzz.js';
import { startGatewayTarget, type Target } from '../reliability/lib/targets.js';

const SECONDS = Number(process.env.FUZZ_SECONDS ?? 15);
const SEED = Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31);
const BATCH = 128;
const CONCURRENCY = 64;

let t: Target;
before(async () => {
  t = await startGatewayTarget({ workers: 2 });
});
after(async () => {
  await t?.stop();
});

test(`fuzz request lines and headers for ${SECONDS} s (seed ${SEED})`, {
  timeout: (SECONDS + 60) * 1000,
}, async (ctx) => {
  const r = rng(SEED);
  const pids = t.pids();
  const seen = new Map<string, number>();
  let cases = 0;
  const deadline = Date.now() + SECONDS * 1000;
  while (Date.now() < deadline) {
    const batch: FuzzCase[] = Array.from({ length: BATCH }, () => generate(r));
    const half = batch.map(() => r() < 0.5);
    let next = 0;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < batch.length) {
          const i = next++;
          const c = batch[i]!;
          const x = await exchange(t.port, Buffer.from(c.input, 'latin1'), { limitMs: 1000, endAfterWrite: half[i]! });
          const replay = `input ${JSON.stringify(c.input.slice(0, 600))} (mutations ${c.mutations.join(', ')}; FUZZ_SEED=${SEED})`;
          assert.equal(x.error, undefined, `socket error ${x.error} for ${replay}`);
          if (x.text.length > 0)
            assert.match(
              x.text,
              /^HTTP\/1\.1 [1-5]\d\d /,
              `malformed answer ${JSON.stringify(x.text.slice(0, 200))} to ${replay}`,
            );
          const codes = statuses(x.text);
          for (const s of codes) {
            // 505 refuses the client's HTTP version (HTTP/2.0 on an HTTP/1 line); no other 5xx.
            assert.ok(s < 500 || s === 505, `${s} for ${replay}:\n${x.text.slice(0, 400)}`);
            seen.set(String(s), (seen.get(String(s)) ?? 0) + 1);
          }
          if (codes.length === 0)
            seen.set(
              x.closed ? 'closed silently' : 'no answer in 1 s',
              (seen.get(x.closed ? 'closed silently' : 'no answer in 1 s') ?? 0) + 1,
            );
        }
      }),
    );
    cases += batch.length;
    const ok = await exchange(t.port, 'GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n', {
      limitMs: 5000,
    });
    assert.deepEqual(statuses(ok.text), [200], `a valid request after ${cases} cases: ${ok.text.slice(0, 200)}`);
    assert.deepEqual(t.crashes(), [], `after ${cases} cases`);
    assert.deepEqual(t.pids(), pids, `serving processes changed after ${cases} cases`);
  }
  ctx.diagnostic(`seed ${SEED}: ${cases} cases; answers ${JSON.stringify(Object.fromEntries([...seen].sort()))}`);
});
