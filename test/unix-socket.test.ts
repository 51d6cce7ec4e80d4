// nginx → gateway over a unix socket (topology `full-uds`, harness/src/unix-socket.ts): it serves
// through nginx, and the socket is reachable by nginx's workers' user and by no other unprivileged
// one. The "other users" are real processes: children spawned with another uid and gid (this
// needs root, which the test machines are; skipped otherwise).
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { after, before, test } from 'node:test';
import { nginxWorkerGid, request, startTopology, type Topology, unavailable } from '@gw/harness';

const why = unavailable('full-uds');
const root = process.getuid?.() === 0;
let topo: Topology | undefined;
let socket = '';

before(async () => {
  if (why) return;
  topo = await startTopology('full-uds', { workers: 1 });
  // The gateway's only listener, from its command line: the unix socket nginx's upstream names.
  const master = topo.gateway?.proc.pid as number;
  socket = /unix:([^\0]+)/.exec(readFileSync(`/proc/${master}/cmdline`, 'utf8'))?.[1] ?? '';
});
after(async () => {
  await topo?.stop();
});

/** What a process of `uid`:`gid` (no supplementary groups) gets when it connects: 'connected' or the error code. */
function connectAs(uid: number, gid: number, path: string): string {
  const script =
    "const s = require('net').connect(process.argv[1]);" +
    "s.on('connect', () => { console.log('connected'); s.destroy(); });" +
    "s.on('error', (e) => console.log(e.code));";
  const r = spawnSync(process.execPath, ['-e', script, path], {
    uid,
    gid,
    cwd: '/',
    encoding: 'utf8',
    timeout: 10_000,
  });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.trim();
}

test('full-uds: requests go through nginx to the gateway over its unix socket', { skip: why ?? false }, async () => {
  const t = topo as Topology;
  assert.match(socket, /^\/tmp\/gw-uds-[^/]+\/gateway\.sock$/);
  assert.ok(statSync(socket).isSocket(), `${socket} is a socket`);
  const home = await request(`${t.baseUrl}/`, { headers: { host: 'localhost' } });
  assert.equal(home.status, 200, home.body);
  // nginx answered (its security headers), and the app behind it saw the client nginx names
  // (X-Forwarded-For believed from a unix-socket peer) and the worker that served it.
  const who = await request(`${t.baseUrl}/whoami`, { headers: { host: 'localhost' } });
  assert.equal(who.status, 200, who.body);
  const body = who.json<{ ip: string; pid: number }>();
  assert.equal(body.ip, '127.0.0.1');
  assert.ok(t.gateway?.pids().includes(body.pid), `pid ${body.pid} is one of the gateway's`);
  assert.equal(t.crashes().length, 0, t.crashes().join('\n'));
});

test("full-uds: the socket is nginx's workers' and the gateway's, nobody else's", {
  skip: why ?? (root ? false : 'needs root (children with other uids)'),
}, () => {
  const t = topo as Topology;
  const nginxPids = t.pids().filter((pid) => !(t.gateway?.pids() ?? []).includes(pid));
  const nginxGid = nginxWorkerGid(nginxPids);
  const dir = statSync(dirname(socket));
  const sock = statSync(socket);
  // The directory: setgid, group nginx's, nothing for others; the socket: 660, group inherited.
  assert.equal((dir.mode & 0o7777).toString(8), '2750');
  assert.equal(dir.gid, nginxGid);
  assert.equal((sock.mode & 0o777).toString(8), '660');
  assert.equal(sock.gid, nginxGid);
  // nginx's workers' identity connects; another user, or one with nginx's uid but not its group, does not.
  const nginxUid = Number(/^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${nginxPids[1]}/status`, 'utf8'))?.[1]);
  assert.equal(connectAs(nginxUid, nginxGid, socket), 'connected');
  assert.equal(connectAs(54321, 54321, socket), 'EACCES');
  assert.equal(connectAs(nginxUid, 54321, socket), 'EACCES');
});
