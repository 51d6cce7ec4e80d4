/**
 * `--capture-output` (Gunicorn's name): the workers' stdout and stderr are pipes the master reads,
 * so what an app prints with console.log, or a framework's multi-line stack trace, does not break
 * a JSON log. A line that is already a JSON object (the worker's own pino lines, an access log on
 * stdout) goes on unchanged to the master's same stream; any other line becomes one error-log
 * record: level info from stdout, error from stderr, with the worker's pid and `stream`.
 *
 * The master, not the worker, does it: a worker that dies hard (a native crash, an abort, a fatal
 * V8 error) still has its last lines read from the pipe and recorded.
 */
import type { ChildProcess } from 'node:child_process';
import type { Readable } from 'node:stream';
import { createErrorLog, type ReopenableLogger } from './logger.js';
import type { Config } from './settings.js';

/** A line longer than this (no newline in sight) is recorded in pieces rather than held in memory. */
const MAX_LINE = 64 * 1024;

type Stream = 'stdout' | 'stderr';

/** Whether `line` is one JSON object, as a log line of pino is. */
export function isJsonObjectLine(line: string): boolean {
  if (!line.startsWith('{"') || !line.endsWith('}')) return false;
  try {
    const v: unknown = JSON.parse(line);
    return typeof v === 'object' && v !== null && !Array.isArray(v);
  } catch {
    return false;
  }
}

/** Calls `onLine` for each line of `stream` (the last one too, if it has no newline). */
function eachLine(stream: Readable, onLine: (line: string) => void): void {
  let buf = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    buf += chunk;
    let i = buf.indexOf('\n');
    while (i !== -1) {
      onLine(buf.slice(0, i));
      buf = buf.slice(i + 1);
      i = buf.indexOf('\n');
    }
    while (buf.length > MAX_LINE) {
      onLine(buf.slice(0, MAX_LINE));
      buf = buf.slice(MAX_LINE);
    }
  });
  stream.on('end', () => {
    if (buf !== '') onLine(buf);
    buf = '';
  });
  stream.on('error', () => {}); // the worker is gone: nothing more to read
}

export class OutputCapture {
  /** Records of the workers' lines: role "worker", and the pid of the worker each line came from. */
  private readonly log: ReopenableLogger;

  constructor(config: Config) {
    this.log = createErrorLog(config.errorlog, config.loglevel, 'worker', false);
  }

  /** The stdio a captured worker is forked with: stdin inherited, stdout and stderr piped. */
  static readonly stdio = ['inherit', 'pipe', 'pipe', 'ipc'] as const;

  attach(child: ChildProcess): void {
    const pid = child.pid ?? -1;
    if (child.stdout) eachLine(child.stdout, (line) => this.line(pid, 'stdout', line));
    if (child.stderr) eachLine(child.stderr, (line) => this.line(pid, 'stderr', line));
  }

  private line(pid: number, stream: Stream, raw: string): void {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line.trim() === '') return; // a blank line says nothing
    if (isJsonObjectLine(line)) {
      (stream === 'stdout' ? process.stdout : process.stderr).write(`${line}\n`);
      return;
    }
    if (stream === 'stdout') this.log.logger.info({ pid, stream }, line);
    else this.log.logger.error({ pid, stream }, line);
  }

  reopen(): void {
    this.log.reopen();
  }

  flush(): void {
    this.log.flush();
  }
}
