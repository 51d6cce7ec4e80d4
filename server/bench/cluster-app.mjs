// Plain node:cluster hosting the sample app, for the throughput benchmark's comparison:
// the primary forks WORKERS workers that each listen on PORT (round-robin by the primary).
import cluster from 'node:cluster';

const workers = Number(process.env.WORKERS ?? 2);
if (cluster.isPrimary) {
  for (let i = 0; i < workers; i++) cluster.fork();
  process.on('SIGTERM', () => {
    for (const w of Object.values(cluster.workers ?? {})) w?.kill('SIGTERM');
    process.exit(0);
  });
} else {
  const { default: createApp } = await import('@gw/app');
  const app = await createApp();
  await app.listen({ host: '127.0.0.1', port: Number(process.env.PORT) });
}
