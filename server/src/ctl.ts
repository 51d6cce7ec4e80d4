/**
 * `nodicorn ctl [--socket PATH] COMMAND [ARG]`: the client of the master's control socket
 * (control-socket.ts), like Gunicorn's `gunicornc`. It sends one request, prints the master's JSON
 * answer on stdout (indented on a terminal, one line otherwise, for `jq`) and exits 0, or with the
 * status of the error's code (errors.ts) when the answer is an error. A socket that cannot be
 * reached is an error of the same JSON shape, GW_ERR_CTL_CONNECT.
 *
 *   nodicorn ctl workers
 *   nodicorn ctl --socket /tmp/nodicorn.sock scale 4
 */
import net from 'node:net';
import { CONTROL_COMMANDS } from './control-socket.js';
import { ERRORS, type ErrorCode, EXIT, exitCodeOf } from './errors.js';

/** `stats` may wait for a scrape of every worker (a second at most); more than this is no answer. */
const ANSWER_WAIT_MS = 10_000;

export const CTL_HELP = `usage: nodicorn ctl [--socket PATH] COMMAND [ARG]

Talks to a running master's control socket (--control-socket; the path defaults to
$GATEWAY_CONTROL_SOCKET). Prints its JSON answer; exits non-zero on an error.

commands:
  workers      each worker: pid, generation, state, age, requests, in flight, RSS, heartbeat age
  stats        the figures /metrics serves, as JSON
  reload       a zero-downtime reload (as HUP)
  scale N      keep N workers (as TTIN/TTOU, to a number)
  kill PID     stop that worker gracefully; the master forks its replacement
  drain        out of rotation: /readyz 503 from now on, still serving; TERM then stops at once`;

interface CtlArgs {
  socket: string | undefined;
  command: string;
  args: Array<string | number>;
}

function parse(argv: string[], env: NodeJS.ProcessEnv): CtlArgs | 'help' {
  let socket = env.GATEWAY_CONTROL_SOCKET || undefined;
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '-h' || a === '--help') return 'help';
    if (a === '-s' || a === '--socket') socket = argv[++i];
    else if (a.startsWith('--socket=')) socket = a.slice('--socket='.length);
    else rest.push(a);
  }
  const [command = '', ...args] = rest;
  // Numbers as numbers; the master checks every argument (and answers an unknown command) itself.
  return { socket, command, args: args.map((a) => (/^\d+$/.test(a) ? Number(a) : a)) };
}

function errorAnswer(code: ErrorCode, message: string): Record<string, unknown> {
  return { ok: false, error: { code, message } };
}

/** Sends one request line and resolves with the answer line's JSON (or a GW_ERR_CTL_CONNECT answer). */
export function request(path: string, body: object): Promise<Record<string, unknown>> {
  return new Promise((resolve) => {
    const socket = net.connect(path);
    let buf = '';
    const done = (answer: Record<string, unknown>) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(answer);
    };
    const timer = setTimeout(
      () => done(errorAnswer('GW_ERR_CTL_CONNECT', `no answer from ${path} in ${ANSWER_WAIT_MS / 1000}s`)),
      ANSWER_WAIT_MS,
    );
    socket.setEncoding('utf8');
    socket.on('connect', () => socket.write(`${JSON.stringify(body)}\n`));
    socket.on('data', (chunk: string) => {
      buf += chunk;
      const end = buf.indexOf('\n');
      if (end === -1) return;
      try {
        done(JSON.parse(buf.slice(0, end)) as Record<string, unknown>);
      } catch {
        done(errorAnswer('GW_ERR_CTL_CONNECT', `${path} answered something that is not JSON`));
      }
    });
    socket.on('error', (err: NodeJS.ErrnoException) =>
      done(errorAnswer('GW_ERR_CTL_CONNECT', `cannot connect to ${path}: ${err.code ?? err.message}`)),
    );
    socket.on('close', () => done(errorAnswer('GW_ERR_CTL_CONNECT', `${path} closed without an answer`)));
  });
}

/** Runs `nodicorn ctl ARGV`; resolves with the exit status. */
export async function runCtl(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const parsed = parse(argv, env);
  const print = (answer: Record<string, unknown>) =>
    process.stdout.write(`${JSON.stringify(answer, null, process.stdout.isTTY ? 2 : undefined)}\n`);
  if (parsed === 'help') {
    process.stdout.write(`${CTL_HELP}\n`);
    return EXIT.OK;
  }
  if (!parsed.command) {
    const list = CONTROL_COMMANDS.join(', ');
    print(errorAnswer('GW_ERR_USAGE', `no command: nodicorn ctl [--socket PATH] COMMAND (${list}); see --help`));
    return exitCodeOf('GW_ERR_USAGE');
  }
  if (!parsed.socket) {
    print(errorAnswer('GW_ERR_CTL_CONNECT', 'no socket: give --socket PATH or set GATEWAY_CONTROL_SOCKET'));
    return exitCodeOf('GW_ERR_CTL_CONNECT');
  }
  const answer = await request(parsed.socket, { command: parsed.command, args: parsed.args });
  print(answer);
  if (answer.ok === true) return EXIT.OK;
  const code = (answer.error as { code?: string } | undefined)?.code;
  return code && Object.hasOwn(ERRORS, code) ? exitCodeOf(code as ErrorCode) : EXIT.RUNTIME;
}
