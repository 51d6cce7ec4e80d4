// The comparison runner's progress log on stderr: one line per step of the plan,
// `[step/steps elapsed, ETA] what`, and indented notes under it (a row's figures,
// why a step was skipped).
import type { Row } from './report.ts';

/** Seconds as mm:ss. */
export const clock = (s: number) =>
  `${String(Math.floor(s / 60)).padStart(2, '0')}:${String(Math.round(s % 60)).padStart(2, '0')}`;

/** The progress log: `[step/steps elapsed, ETA] what`, the ETA scaled by how the plan has gone so far. */
export class Progress {
  private readonly t0 = Date.now();
  private done = 0;
  private stepNo = 0;
  constructor(
    private readonly steps: number,
    readonly plannedTotal: number,
  ) {}
  /** A new step of the plan begins. */
  next(): void {
    this.stepNo++;
  }
  /** `seconds` of the plan are done. */
  advance(seconds: number): void {
    this.done += seconds;
  }
  say(text: string): void {
    const elapsed = (Date.now() - this.t0) / 1000;
    // Scale the remaining plan by how long the plan has taken so far (startup, k6 init).
    const pace = this.done > 0 ? elapsed / this.done : 1;
    const eta = Math.max(0, (this.plannedTotal - this.done) * pace);
    const at = `[${String(this.stepNo).padStart(2)}/${this.steps} ${clock(elapsed)} elapsed, ETA ${clock(eta)}]`;
    process.stderr.write(`${at} ${text}\n`);
  }
}

/** A line under the current step. */
export const note = (text: string) => process.stderr.write(`        ${text}\n`);

const cpuCell = (v: number | null) => (v === null ? '–' : v.toFixed(3));
/** A row's figures, under its step. */
export function noteRow(r: Row): void {
  note(
    `${r.step.padEnd(12)} ${r.rps.toFixed(0).padStart(6)} req/s  p50 ${r.p50.toFixed(2)} ms  ` +
      `p99 ${r.p99.toFixed(2)} ms  errors ${r.failed + r.dropped}  CPU ${cpuCell(r.cpuPer1k)} s/1k`,
  );
}
