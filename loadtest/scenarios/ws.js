// @ts-check
// ws: WebSocket echo through a topology. CONNECTIONS virtual users each hold one
// WebSocket to GET /ws (ws:// or wss:// from BASE_URL), send MESSAGES messages
// INTERVAL_MS apart, check every echo and time its round trip (ws_echo_rtt).
// Shows whether upgrades pass through (nginx needs the Upgrade/Connection
// mapping) and what each hop adds to a message's round trip. The first message
// the app sends names its worker pid; it is not an echo and is skipped.
//
//   k6 run -e BASE_URL=https://127.0.0.1:8443 -e TOPOLOGY=full \
//     -e CONNECTIONS=50 -e MESSAGES=100 loadtest/scenarios/ws.js

import { check } from 'k6';
import { Counter, Trend } from 'k6/metrics';
import ws from 'k6/ws';
import { BASE_URL, baseOptions, envDuration, envNumber } from '../lib/config.js';
import { makeHandleSummary } from '../lib/summary.js';

const SCRIPT = 'ws';
const CONNECTIONS = envNumber('CONNECTIONS', 20);
const MESSAGES = envNumber('MESSAGES', 50);
const INTERVAL_MS = envNumber('INTERVAL_MS', 20);
const DURATION = envDuration('DURATION', '10s');
const P95_MS = envNumber('P95_MS', 50);
const P99_MS = envNumber('P99_MS', 200);
const WS_URL = `${BASE_URL.replace(/^http/, 'ws')}/ws`;

const rtt = new Trend('ws_echo_rtt', true);
const echoes = new Counter('ws_echoes');
const wrongEchoes = new Counter('ws_wrong_echoes');
const socketErrors = new Counter('ws_socket_errors');

export const options = baseOptions(SCRIPT, {
  scenarios: {
    ws: { executor: 'constant-vus', vus: CONNECTIONS, duration: DURATION, gracefulStop: '10s' },
  },
  thresholds: {
    ws_echo_rtt: [`p(95)<${P95_MS}`, `p(99)<${P99_MS}`],
    ws_wrong_echoes: ['count==0'],
    ws_socket_errors: ['count==0'],
    ws_echoes: ['count>0'],
    checks: ['rate>0.99'],
  },
});

// k6/ws (not k6/websockets): the module both this k6 (1.3) and the pinned
// grafana/k6 image have.
export default function () {
  /** @type {Map<string, number>} */
  const sentAt = new Map();
  let sent = 0;
  let received = 0;
  let helloSeen = false;
  const res = ws.connect(WS_URL, {}, (socket) => {
    socket.on('open', () => {
      socket.setInterval(() => {
        if (sent >= MESSAGES) return;
        const id = `${__VU}-${__ITER}-${sent++}`;
        sentAt.set(id, Date.now());
        socket.send(id);
      }, INTERVAL_MS);
    });
    socket.on('message', (data) => {
      if (!helloSeen) {
        helloSeen = true;
        check(data, { 'hello names a pid': (d) => /"pid":\d+/.test(d) });
        return;
      }
      const started = sentAt.get(data);
      if (started === undefined) {
        wrongEchoes.add(1);
        return;
      }
      sentAt.delete(data);
      rtt.add(Date.now() - started);
      echoes.add(1);
      if (++received >= MESSAGES) socket.close();
    });
    socket.on('error', () => {
      socketErrors.add(1);
    });
    // A stuck session must not hold the VU past the run.
    socket.setTimeout(() => socket.close(), MESSAGES * INTERVAL_MS + 10000);
  });
  check(res, { 'upgraded (101)': (r) => r !== undefined && r.status === 101 });
  check(received, { 'every message echoed': (n) => n === MESSAGES });
}

export const handleSummary = makeHandleSummary(SCRIPT, {
  connections: CONNECTIONS,
  messages: MESSAGES,
  intervalMs: INTERVAL_MS,
  duration: DURATION,
});
