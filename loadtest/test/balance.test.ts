// The balance runner's figures (loadtest/compare/balance.ts, balance-report.ts): wrk's output read
// right, and the ratio to fair share and the medians over rounds that the README quotes.
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { parseWrk } from '../compare/balance.ts';
import { type Cell, medians, renderBalance, summarize } from '../compare/balance-report.ts';

const WRK = `Running 8s test @ http://127.0.0.1:40000/
  2 threads and 50 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     2.50ms    1.10ms  40.00ms   90.00%
  Latency Distribution
     50%    2.10ms
     75%    2.80ms
     90%    3.50ms
     99%    1.20s
  160000 requests in 8.00s, 30.00MB read
  Socket errors: connect 0, read 12, write 3, timeout 1
  Non-2xx or 3xx responses: 7
Requests/sec:  20000.00
Transfer/sec:      3.75MB
`;

test("wrk's requests, rate, percentiles (any unit) and errors are read from its output", () => {
  assert.deepEqual(parseWrk(WRK), { requests: 160000, rps: 20000, p50Ms: 2.1, p99Ms: 1200, errors: 16, non2xx: 7 });
  assert.equal(parseWrk(WRK.replace(/ {2}Socket errors.*\n/, '')).errors, 0, 'no error line: none');
});

const cell = (round: number, mode: 'off' | 'on', requests: number[], connections: number[]): Cell => ({
  workers: requests.length,
  connections: 50,
  mode,
  round,
  rps: 1000 * round,
  p50Ms: 1,
  p99Ms: 10 * round,
  perWorker: requests.map((r, i) => ({ pid: 100 + i, requests: r, connections: connections[i]! })),
});

test('the busiest worker over its fair share, and the medians over rounds per workers × connections × mode', () => {
  const [s] = summarize([cell(1, 'off', [300, 100], [30, 20])]);
  assert.equal(s!.maxShare, 1.5); // 300 of 400 over 2 workers: 1.5× the 200 each would serve
  assert.equal(s!.maxConnShare, 1.2);
  const run = {
    cells: [
      cell(1, 'off', [300, 100], [25, 25]),
      cell(2, 'off', [200, 200], [25, 25]),
      cell(3, 'off', [220, 180], [25, 25]),
      cell(1, 'on', [210, 190], [26, 24]),
    ],
  };
  const [off, on] = medians(run);
  assert.equal(off!.mode, 'off');
  assert.equal(off!.rounds, 3);
  assert.equal(off!.maxShare, 1.1); // 1.5, 1.0, 1.1: the median, not the mean
  assert.equal(off!.rps, 2000);
  assert.equal(on!.rounds, 1);
  const md = renderBalance({
    date: 'd',
    node: 'v26',
    kernel: 'k',
    hostMigrateReq: '0',
    options: {},
    ...run,
    stops: [],
  });
  assert.match(md, /\| 2 \| 50 \| shared socket \| 2000 \| 20\.00 \| 1\.10 \| 1\.00 \|/);
});
