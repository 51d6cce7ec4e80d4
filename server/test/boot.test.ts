/**
 * Booting, bounded by --boot-timeout apart from --timeout: a slow boot with a short hung-worker
 * timeout comes up; one that never finishes is killed and retried with the crash-loop backoff, not
 * a halt; at start only a worker that reports it cannot load the app (exit 4) stops the master
 * (cli.test.ts), and a worker killed while booting is retried.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { CLI, fixture, Gateway, request, startGateway } from './helpers.js';

test('a boot of ~2 s (its loop blocked half of it) with --timeout 1 --boot-timeout 10 comes up', async () => {
  const gw = await startGateway(
    ['-w', '2', '-b', '127.0.0.1:0', '--timeout', '1', '--boot-timeout', '10', fixture('slow-boot.mjs')],
    { BOOT_MS: '2000' },
  );
  try {
    assert.equal(gw.count(/WORKER TIMEOUT/), 0);
    assert.equal(gw.count(/failed to boot/), 0);
    await gw.until('2 ready workers', () => gw.readyWorkers().length === 2);
    assert.equal((await request(`${gw.url}/`)).status, 200);
    assert.equal(gw.count(/WORKER TIMEOUT/), 0, 'and, ready, it is not taken for hung');
  } finally {
    await gw.stop();
  }
});

test('a HUP while the first workers still boot is not lost: the reload follows once they are up', async () => {
  const gw = new Gateway(['-w', '1', '-b', '127.0.0.1:0', fixture('slow-boot.mjs')], { BOOT_MS: '4000' });
  try {
    await gw.waitFor(/^Booting worker/);
    assert.equal(gw.readyWorkers().length, 0, 'the worker is still booting when the HUP comes');
    gw.signal('SIGHUP');
    await gw.waitFor(/Reload complete/);
    const first = gw.lines.find((l) => l.role === 'worker' && /^Worker ready/.test(l.msg ?? ''))?.pid;
    await gw.until('the reloaded worker alone', () => gw.readyWorkers().length === 1 && gw.readyWorkers()[0] !== first);
    assert.equal((await request(`${gw.url}/`)).json().pid, gw.readyWorkers()[0]);
  } finally {
    await gw.stop();
  }
});

test('the default boot timeout is max(timeout, 30), shown by --print-config', () => {
  const printed = (args: string[]) =>
    spawnSync(process.execPath, [CLI, '--print-config', ...args], {
      encoding: 'utf8',
      env: { ...process.env, WEB_CONCURRENCY: '' },
    }).stdout;
  assert.match(printed(['-t', '1']), /^boot_timeout += 30$/m);
  assert.match(printed(['-t', '90']), /^boot_timeout += 90$/m);
  assert.match(printed(['-t', '90', '--boot-timeout', '5']), /^boot_timeout += 5$/m);
});

test('a worker that never gets ready is killed at --boot-timeout and retried with the backoff; the master stays up', async () => {
  const gw = new Gateway(['-w', '1', '-b', '127.0.0.1:0', '--boot-timeout', '1', fixture('never-ready.mjs')]);
  try {
    await gw.waitFor(/Workers keep dying young \(3 in a row\)/, 1, 30_000);
    assert.equal(gw.exitCode, undefined, 'no halt');
    assert.ok(gw.count(/^WORKER TIMEOUT \(pid:\d+\): not ready after 1s \(boot timeout\)$/) >= 3);
    assert.ok(gw.count(/^Worker \(pid:\d+\) failed to boot: was sent SIGKILL$/) >= 3);
    const delays = gw.lines
      .map((l) => /next spawn in (\d+) ms/.exec(l.msg ?? '')?.[1])
      .filter(Boolean)
      .map(Number);
    assert.deepEqual(delays.slice(0, 2), [200, 400], 'exponential');
    assert.equal(gw.count(/Shutting down: Worker failed to boot/), 0);
  } finally {
    assert.equal(await gw.stop(), 0, 'a TERM meanwhile is a normal stop');
  }
});

test('at start, a worker killed while booting is retried, not a halt', async () => {
  const marker = join(mkdtempSync(join(tmpdir(), 'gw-crash-once-')), 'crashed');
  const gw = await startGateway(['-w', '1', '-b', '127.0.0.1:0', fixture('crash-once.mjs')], {
    CRASH_ONCE_MARKER: marker,
  });
  try {
    assert.ok(existsSync(marker), 'the first worker did kill itself');
    assert.equal(gw.count(/^Worker \(pid:\d+\) failed to boot: was sent SIGKILL$/), 1);
    assert.equal((await request(`${gw.url}/`)).status, 200);
  } finally {
    await gw.stop();
  }
});
