// CPU accounting from /proc now lives in @gw/harness (harness/src/procstat.ts), with
// every launcher; re-exported here for loadtest/test/compare.test.ts.
export { CLK_TCK, cpuCounter, cpuDelta, cpuSeconds, cpuSnapshot, tree } from '@gw/harness';
