// @gw/harness: what starts and measures the project's processes, for the comparison
// runner, the benchmarks, the reliability faults and the tests. Run from source (tsx);
// nothing here is built. Every launcher returns a Serving (serving.ts).
export * from './cert.ts';
export * from './cgroup.ts';
export * from './compose.ts';
export * from './gateway.ts';
export * from './h2load.ts';
export * from './http.ts';
export * from './memory.ts';
export * from './minimal.ts';
export * from './nginx.ts';
export * from './nginx-templates.ts';
export * from './pm2.ts';
export * from './ports.ts';
export * from './process.ts';
export * from './procstat.ts';
export * from './serving.ts';
export * from './tools.ts';
export * from './topologies.ts';
export * from './unix-socket.ts';
export * from './wire.ts';
