// Memory of a process from /proc, the way the memory comparison records it: VmRSS (from
// /proc/PID/status: what `ps`, `top`, PM2's monit and the gateway's max_worker_memory read) and
// Pss (from /proc/PID/smaps_rollup: each shared page divided among the processes that map it).
// RSS counts a page shared by a master and its forked workers once in every one of them, so a
// pool's RSS summed overstates what it holds; Pss summed over the pool is what it holds. Both are
// kept: RSS per process (what operators see and limits act on), Pss for a pool's total.
//
//   const m = memoryOf(pid); // { rssKiB: 51234, pssKiB: 48012 } or undefined once it has exited
import { readFileSync } from 'node:fs';

export interface Memory {
  /** Resident set size, KiB (VmRSS). */
  rssKiB: number;
  /** Proportional set size, KiB (Pss of smaps_rollup); undefined where the kernel has no smaps_rollup (< 4.14). */
  pssKiB: number | undefined;
}

/** A `Name:   1234 kB` field of a /proc file, in KiB; undefined when absent. */
function kib(text: string, field: string): number | undefined {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(text);
  return m ? Number(m[1]) : undefined;
}

/** The memory of one process now, or undefined when it has exited (or is a zombie, with no memory left). */
export function memoryOf(pid: number): Memory | undefined {
  let status: string;
  try {
    status = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return undefined;
  }
  const rssKiB = kib(status, 'VmRSS');
  if (rssKiB === undefined) return undefined;
  let pssKiB: number | undefined;
  try {
    pssKiB = kib(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'), 'Pss');
  } catch {
    pssKiB = undefined;
  }
  return { rssKiB, pssKiB };
}

/** A process's memory over a window: the last sample and the largest seen. */
export interface MemoryPeak {
  last: Memory;
  peakRssKiB: number;
  peakPssKiB: number | undefined;
}

/**
 * Samples the memory of `pids` every `everyMs` until stop() is called; stop() returns each pid's last
 * sample and peak (pids that never answered are absent). Sampling is a few small /proc reads, well
 * under a millisecond, from the caller's process (pin it off the measured cores).
 */
export function sampleMemory(pids: number[], everyMs = 250): { stop(): Map<number, MemoryPeak> } {
  const seen = new Map<number, MemoryPeak>();
  const sample = () => {
    for (const pid of pids) {
      const m = memoryOf(pid);
      if (!m) continue;
      const prev = seen.get(pid);
      seen.set(pid, {
        last: m,
        peakRssKiB: Math.max(prev?.peakRssKiB ?? 0, m.rssKiB),
        peakPssKiB: m.pssKiB === undefined ? prev?.peakPssKiB : Math.max(prev?.peakPssKiB ?? 0, m.pssKiB),
      });
    }
  };
  sample();
  const timer = setInterval(sample, everyMs);
  return {
    stop() {
      clearInterval(timer);
      sample();
      return seen;
    },
  };
}
