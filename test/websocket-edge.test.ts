/**
 * Upgrades and WebSockets through native nginx (the shipped config) in front of the real backend
 * of each topology: an `Upgrade:` on an ordinary route interleaved with other clients' POSTs on
 * nginx's pooled upstream connections costs them nothing, and /ws is capped per client by nginx's
 * limit_conn. The gateway-alone side of each attack is server/test/upgrades.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { startTopology, unavailable } from '@gw/harness';
import { fillIdle, poisonPool } from '../reliability/lib/ws-attacks.js';

for (const name of ['full', 'proxy'] as const) {
  describe(`WebSockets and upgrades through nginx (${name})`, { skip: unavailable(name) ?? false }, () => {
    it('an Upgrade on / (websocket, then h2c) interleaved with victim POSTs on the pooled upstream: 0 victim failures', async () => {
      const t = await startTopology(name, { workers: 2 });
      try {
        for (const upgrade of ['websocket', 'h2c']) {
          // Before the fix, 3.5% of victims failed (502) at this mix; 600 victims is about 20 expected failures.
          const r = await poisonPool(t.port, { attacks: 600, victims: 600, concurrency: 4, upgrade });
          assert.equal(r.victimFailures, 0, `${upgrade}: ${JSON.stringify(r.failures)}`);
          // nginx answers the attacker as an ordinary request: the route's 200.
          assert.deepEqual(Object.keys(r.attackerStatus), ['200'], JSON.stringify(r.attackerStatus));
        }
      } finally {
        await t.stop();
      }
    });

    it('at most 16 open WebSockets per client address at nginx (limit_conn): the 17th gets 429, others still connect', async () => {
      const t = await startTopology(name, { workers: 2 });
      try {
        const one = await fillIdle(t.port, { count: 20, requests: 10 });
        assert.deepEqual(one.status, { 101: 16, 429: 4 });
        assert.equal(one.failed, 0);
        const other = await fillIdle(t.port, { count: 5, addresses: ['127.0.0.5'], requests: 1 });
        assert.deepEqual(other.status, { 101: 5 });
      } finally {
        await t.stop();
      }
    });
  });
}
