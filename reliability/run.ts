/**
 * Runs every reliability case (the fault scripts, the slow-client matrix, the bad-input tests
 * and a fuzz pass) and writes docs/reliability.md: case × topology × result, with the date and
 * the machine. Each measuring child takes /tmp/gw-measure.lock itself, so runs never overlap
 * with other measurements on a shared machine: do not wrap this runner in flock too.
 *
 *   npm run reliability                      # everything (about 15 min on 2 cores)
 *   ONLY=sigkill,hung npm run reliability    # some cases; the others keep their last rows
 *   REUSE=slow-clients:/tmp/a.out+/tmp/b.out # take a step's RESULT lines from saved runs of its script
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type CaseResult, machine } from './lib/measure.js';
import { ROOT } from './lib/targets.js';

const RESULTS = join(ROOT, 'reliability/results.json');
const ONLY = process.env.ONLY?.split(',');
const STEPS: Array<{ id: string; argv: string[]; env?: NodeJS.ProcessEnv }> = [
  { id: 'sigkill', argv: ['reliability/faults/sigkill.ts'] },
  { id: 'hung', argv: ['reliability/faults/hung.ts'] },
  { id: 'reload', argv: ['reliability/faults/reload.ts'] },
  { id: 'sigterm', argv: ['reliability/faults/sigterm.ts'] },
  { id: 'compose', argv: ['reliability/faults/compose-restart.ts'] },
  { id: 'rollout', argv: ['reliability/faults/compose-rollout.ts'] },
  { id: 'slow-clients', argv: ['reliability/slow-clients.ts'] },
  { id: 'websockets', argv: ['reliability/websockets.ts'] },
];

const previous: Record<string, CaseResult[]> = existsSync(RESULTS)
  ? JSON.parse(readFileSync(RESULTS, 'utf8')).steps
  : {};
const steps: Record<string, CaseResult[]> = { ...previous };

const reuse = new Map(
  (process.env.REUSE ?? '')
    .split(',')
    .filter(Boolean)
    .map((kv) => kv.split(':') as [string, string]),
);
const resultLine = (out: string) =>
  out
    .split('\n')
    .reverse()
    .find((l) => l.startsWith('RESULT '));
for (const step of STEPS) {
  const saved = reuse.get(step.id);
  if (saved) {
    steps[step.id] = saved
      .split('+')
      .flatMap((f) => JSON.parse(resultLine(readFileSync(f, 'utf8'))!.slice(7)) as CaseResult[]);
    continue;
  }
  if (ONLY && !ONLY.includes(step.id)) continue;
  if (!existsSync(join(ROOT, step.argv[0]!))) continue;
  console.log(`== ${step.id}`);
  const r = spawnSync('flock', ['/tmp/gw-measure.lock', process.execPath, '--import', 'tsx', ...step.argv], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, ...step.env },
    timeout: 40 * 60_000,
    maxBuffer: 64 * 2 ** 20,
  });
  process.stdout.write(
    r.stdout
      .split('\n')
      .filter((l) => !l.startsWith('RESULT '))
      .join('\n'),
  );
  const line = resultLine(r.stdout);
  if (line) steps[step.id] = JSON.parse(line.slice(7)) as CaseResult[];
  else {
    console.log(`${step.id} produced no result (exit ${r.status}):\n${r.stderr.slice(-2000)}`);
    steps[step.id] = [
      {
        case: step.id,
        topology: '—',
        pass: false,
        result: `no result (exit ${r.status}): ${r.stderr.trim().split('\n').at(-1) ?? ''}`,
        figures: {},
      },
    ];
  }
}

// The bad-input matrix and the fuzzer are tests: their pass counts are the result.
function tests(id: string, file: string, env: NodeJS.ProcessEnv = {}): void {
  if (ONLY && !ONLY.includes(id)) return;
  console.log(`== ${id}`);
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=tap', file], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, ...env },
    timeout: 20 * 60_000,
  });
  const rows: CaseResult[] = [];
  // Top-level suites are "ok N - bad input: gateway"; count their subtests.
  for (const m of r.stdout.matchAll(
    /^# Subtest: (bad input: (\S+))\n([\s\S]*?)^(not ok|ok) \d+ - \1(?: # SKIP (.*))?$/gm,
  )) {
    const body = m[3]!;
    const passed = (body.match(/^ {4}ok \d+/gm) ?? []).length;
    const failed = [...body.matchAll(/^ {4}not ok \d+ - (.*)$/gm)].map((x) => x[1]);
    rows.push({
      case: 'bad input (every case: expected status, close, JSON error, no crash)',
      topology: m[2]!,
      pass: m[5] ? undefined : failed.length === 0,
      result: m[5]
        ? `skipped: ${m[5]}`
        : `${passed}/${passed + failed.length} as expected${failed.length ? `; failed: ${failed.join('; ')}` : ''}`,
      figures: { passed, failed },
    });
  }
  const fuzz = /^# (seed \d+: \d+ cases; answers .*)$/m.exec(r.stdout);
  if (id === 'fuzz')
    rows.push({
      case: `fuzz (${env.FUZZ_SECONDS} s of mutated request lines and headers)`,
      topology: 'gateway',
      pass: r.status === 0,
      result: `${r.status === 0 ? 'no crash, no 5xx' : 'FAILED'}; ${fuzz?.[1] ?? r.stdout.slice(-500)}`,
      figures: {},
    });
  steps[id] = rows;
}
tests('bad-input', 'test/bad-input.test.ts');
tests('fuzz', 'test/fuzz.test.ts', { FUZZ_SECONDS: process.env.FUZZ_SECONDS ?? '60' });

const date = new Date().toISOString().replace(/\..*/, 'Z');
const host = machine();
writeFileSync(RESULTS, `${JSON.stringify({ date, machine: host, steps }, null, 2)}\n`);

const all = Object.values(steps).flat();
const cell = (s: string) => s.replace(/\|/g, '\\|');
const verdict = (r: CaseResult) => (r.pass === undefined ? '—' : r.pass ? 'PASS' : 'FAIL');
const md = `# Reliability: faults, bad input and slow clients, measured

<!-- Written by \`npm run reliability\` (reliability/run.ts) from reliability/results.json. Do not edit. -->

- Date: ${date}
- Machine: ${host}
- Topologies run natively on loopback (harness/src/topologies.ts): \`gateway\` (2 workers), \`proxy\` (nginx → 2 × the app's own server),
  \`full\` (nginx → gateway, 2 workers), \`gunicorn\` (the seed's stack: 2 sync workers, Flask). Compose rows: the real images.
- Verdict: PASS = the claim or target held; FAIL = it did not (see Findings); — = a figure without a target.

| case | topology | verdict | result |
|------|----------|---------|--------|
${all.map((r) => `| ${cell(r.case)} | ${r.topology} | ${verdict(r)} | ${cell(r.result)} |`).join('\n')}

Scripts: \`reliability/faults/*.ts\` (one per fault), \`reliability/slow-clients.ts\`, \`reliability/websockets.ts\`,
\`test/bad-input.test.ts\`, \`test/fuzz.test.ts\`.
Each script prints its figures and runs alone: \`flock /tmp/gw-measure.lock node --import tsx reliability/faults/sigkill.ts\`.
${existsSync(join(ROOT, 'reliability/FINDINGS.md')) ? `\n${readFileSync(join(ROOT, 'reliability/FINDINGS.md'), 'utf8')}` : ''}`;
mkdirSync(join(ROOT, 'docs'), { recursive: true });
writeFileSync(join(ROOT, 'docs/reliability.md'), md);
console.log(`wrote docs/reliability.md (${all.length} rows)`);
