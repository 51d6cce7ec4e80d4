// The comparison's side of the native topologies, which @gw/harness launches
// (harness/src/topologies.ts): a line per topology for the report, and the versions
// of what serves. The launcher is re-exported for loadtest/test/compare.test.ts.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { GUNICORN_BIN, nginxVersion, type TopologyName } from '@gw/harness';

export {
  ALL_TOPOLOGIES,
  startTopology,
  TLS_TOPOLOGIES,
  TOPOLOGIES,
  type Topology,
  type TopologyName,
  unavailable,
} from '@gw/harness';

/** One line per topology: the path of a request, and its Python analogue. */
export const DESCRIPTIONS: Record<TopologyName, string> = {
  gateway: 'client → gateway (N workers) → app',
  proxy: "client → nginx → N × app's own server (one process each)",
  full: 'client → nginx → gateway (N workers) → app',
  gunicorn: 'client → gunicorn (N sync workers) → Flask',
  'nginx-gunicorn': 'client → nginx → gunicorn (N sync workers) → Flask',
  'gateway-tls': 'client —TLS→ gateway (N workers, --certfile/--keyfile) → app',
  'full-tls': 'client —TLS→ nginx → gateway (N workers) → app',
  'proxy-tls': "client —TLS→ nginx → N × app's own server (one process each)",
  'full-uds': 'client → nginx —unix socket→ gateway (N workers) → app',
};

/** Versions of what serves, for the report. */
export function versions(): Record<string, string> {
  const out = (cmd: string, args: string[]) => {
    const r = spawnSync(cmd, args, { encoding: 'utf8' });
    return r.status === 0 ? `${r.stdout}${r.stderr}`.trim() : '';
  };
  return {
    node: process.version,
    nginx: nginxVersion(),
    gunicorn: existsSync(GUNICORN_BIN)
      ? out(GUNICORN_BIN, ['--version']).replace(/^gunicorn \(version ([^)]+)\)$/, '$1')
      : '',
    flask: out('python3', ['-c', 'import importlib.metadata as m; print(m.version("flask"))']),
    python: out('python3', ['--version']).replace(/^Python /, ''),
  };
}
