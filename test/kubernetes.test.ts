// deploy/k8s/, checked offline: every overlay is built by `kubectl kustomize` (skipped, saying so,
// where kubectl is absent), every object it produces is validated against the Kubernetes and the
// Gateway API schemas (the npm kubernetes-models validators), and the policies of
// docs/kubernetes.md are asserted on the built objects: the restricted Pod Security Standard, probe
// paths that the real gateway answers, the stop-grace arithmetic from config/limits.json, the images
// docker-compose.yml builds, nginx's config generated from nginx/ itself, and the network policies.
// No cluster runs here: docs/kubernetes.md says what that leaves unproven.
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { before, describe, it } from 'node:test';
import { devCertificate, freePort, httpStatus, nginxConfigTree, ROOT, startGateway } from '@gw/harness';
import * as gatewayApi from '@kubernetes-models/gateway-api';
import * as kubernetes from 'kubernetes-models';
import { parseAllDocuments, parse as parseYaml } from 'yaml';

const limits = JSON.parse(readFileSync(join(ROOT, 'config/limits.json'), 'utf8')) as Record<string, number>;
const OVERLAYS = ['gateway', 'proxy', 'full'] as const;
type Overlay = (typeof OVERLAYS)[number];

// ---- the objects, as far as these checks read them ------------------------------------------------

interface Meta {
  name: string;
  namespace?: string;
  labels?: Record<string, string>;
}
interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: Meta;
  spec?: Record<string, unknown>;
  data?: Record<string, string>;
  type?: string;
}
interface Probe {
  httpGet?: { path: string; port: string | number };
  periodSeconds?: number;
  failureThreshold?: number;
}
interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { resourceFieldRef?: { containerName?: string; resource: string; divisor?: string } };
}
interface Mount {
  name: string;
  mountPath: string;
  subPath?: string;
}
interface Container {
  name: string;
  image: string;
  imagePullPolicy?: string;
  command?: string[];
  args?: string[];
  env?: EnvVar[];
  ports?: Array<{ name?: string; containerPort: number }>;
  startupProbe?: Probe;
  readinessProbe?: Probe;
  livenessProbe?: Probe;
  lifecycle?: { preStop?: { sleep?: { seconds: number } } };
  resources?: { limits?: Record<string, string>; requests?: Record<string, string> };
  restartPolicy?: string;
  securityContext?: {
    runAsNonRoot?: boolean;
    runAsUser?: number | undefined;
    runAsGroup?: number | undefined;
    allowPrivilegeEscalation?: boolean;
    readOnlyRootFilesystem?: boolean;
    privileged?: boolean;
    capabilities?: { drop?: string[]; add?: string[] };
    seccompProfile?: { type: string };
  };
  volumeMounts?: Mount[];
}
interface Volume {
  name: string;
  emptyDir?: Record<string, unknown>;
  secret?: { secretName: string };
  configMap?: { name: string };
  [type: string]: unknown;
}
interface PodSpec {
  containers: Container[];
  initContainers?: Container[];
  volumes?: Volume[];
  terminationGracePeriodSeconds?: number;
  enableServiceLinks?: boolean;
  automountServiceAccountToken?: boolean;
  hostNetwork?: boolean;
  hostPID?: boolean;
  hostIPC?: boolean;
  securityContext?: Container['securityContext'] & { fsGroup?: number };
  topologySpreadConstraints?: Array<{
    topologyKey: string;
    maxSkew: number;
    whenUnsatisfiable: string;
    labelSelector?: { matchLabels?: Record<string, string> };
  }>;
}
interface DeploymentSpec {
  replicas?: number;
  selector: { matchLabels: Record<string, string> };
  strategy?: { type?: string; rollingUpdate?: { maxUnavailable?: number | string } };
  template: { metadata: { labels: Record<string, string> }; spec: PodSpec };
}
interface Peer {
  namespaceSelector?: { matchLabels?: Record<string, string> };
  podSelector?: { matchLabels?: Record<string, string> };
}
interface PolicySpec {
  podSelector: { matchLabels?: Record<string, string> };
  policyTypes?: string[];
  ingress?: Array<{ from?: Peer[]; ports?: Array<{ port: number; protocol?: string }> }>;
  egress?: Array<{ to?: Peer[]; ports?: Array<{ port: number }> }>;
}

const specOf = <T>(o: K8sObject): T => o.spec as unknown as T;

// ---- building the overlays ------------------------------------------------------------------------

const kubectl = spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' });
const NO_KUBECTL =
  kubectl.status === 0
    ? false
    : 'kubectl is not installed: the overlays were not built or validated (install kubectl; .ci/run expects it)';

/**
 * The overlays built from a copy of deploy/k8s and nginx/ (their relative layout kept) with a fresh
 * development certificate in base/tls/, which git never holds: the build reads the same files as
 * in the tree, and the tree is not written to.
 */
function buildOverlays(): Map<Overlay, K8sObject[]> {
  const dir = mkdtempSync(join(tmpdir(), 'k8s-build-'));
  try {
    cpSync(join(ROOT, 'deploy/k8s'), join(dir, 'deploy/k8s'), {
      recursive: true,
      filter: (src) => !relative(join(ROOT, 'deploy/k8s'), src).startsWith('base/tls'),
    });
    cpSync(join(ROOT, 'nginx'), join(dir, 'nginx'), { recursive: true });
    mkdirSync(join(dir, 'deploy/k8s/base/tls'));
    devCertificate(join(dir, 'deploy/k8s/base/tls'), { names: 'DNS:stack.example.test' });
    const built = new Map<Overlay, K8sObject[]>();
    for (const overlay of OVERLAYS) {
      const r = spawnSync('kubectl', ['kustomize', join(dir, 'deploy/k8s/overlays', overlay)], { encoding: 'utf8' });
      assert.equal(r.status, 0, `kubectl kustomize deploy/k8s/overlays/${overlay}:\n${r.stderr}`);
      built.set(
        overlay,
        parseAllDocuments(r.stdout).map((d) => d.toJS() as K8sObject),
      );
    }
    return built;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---- the schema validators, looked up by apiVersion and kind -----------------------------------------

interface ModelClass {
  apiVersion: string;
  kind: string;
  new (data: unknown): { validate(): void };
}
const MODELS = new Map<string, ModelClass>();
function collectModels(namespace: object, depth = 0): void {
  for (const value of Object.values(namespace)) {
    if (typeof value === 'function' && 'apiVersion' in value && 'kind' in value) {
      const model = value as ModelClass;
      MODELS.set(`${model.apiVersion} ${model.kind}`, model);
    } else if (value && typeof value === 'object' && depth < 3) collectModels(value, depth + 1);
  }
}
collectModels(kubernetes);
collectModels(gatewayApi);

/** Throws the validator's message, or that there is no schema for the object's kind. */
function validate(o: K8sObject): void {
  const model = MODELS.get(`${o.apiVersion} ${o.kind}`);
  assert.ok(model, `no schema for ${o.apiVersion} ${o.kind}`);
  // kustomize wraps generated base64 at 76 columns; the API server's decoder (Go's base64) skips the
  // newlines, the schema's `byte` format does not.
  const data = o.data && o.kind === 'Secret' ? { data: mapValues(o.data, (v) => v.replace(/\s+/g, '')) } : {};
  new model({ ...o, ...data }).validate();
}
const mapValues = (r: Record<string, string>, f: (v: string) => string): Record<string, string> =>
  Object.fromEntries(Object.entries(r).map(([k, v]) => [k, f(v)]));

// ---- docker-compose.yml and the Dockerfile: what the containers must equal -------------------------

/** `${X:-default}` (and `${X-default}`) as compose resolves it with X unset. */
const composeDefault = (value: string): string => value.replace(/\$\{[A-Z_]+:?-([^}]*)\}/g, '$1');
interface ComposeService {
  image?: string;
  build?: { target?: string };
  command?: string[];
}
const compose = parseYaml(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
  services: Record<string, ComposeService>;
};
const composeImage = (service: string): string => composeDefault(compose.services[service]?.image ?? '');
/** The images compose builds: the runtime one (gateway, app) and nginx's. */
const RUNTIME_IMAGE = composeImage('gateway');
const NGINX_IMAGE = composeImage('nginx-full');

/** The Dockerfile's ENV of the runtime stage: what every gateway container starts with. */
function runtimeEnv(): Record<string, string> {
  const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
  const env: Record<string, string> = {};
  for (const m of dockerfile.slice(dockerfile.indexOf(' AS runtime')).matchAll(/^ENV (.+)$/gm)) {
    for (const pair of (m[1] as string).trim().split(/\s+/)) {
      const [k, v] = pair.split('=');
      env[k as string] = (v ?? '')
        .replace(/^\$APP_MODULE$/, 'app/dist/app.js')
        .replace(/^\$APP_HEALTH_PATH$/, '/healthz');
    }
  }
  return env;
}

// ---- helpers on the built objects ---------------------------------------------------------------------

type Role = 'gateway' | 'app' | 'nginx';
/** What a container runs, from its image and arguments. */
function roleOf(c: Container): Role {
  if (c.image === NGINX_IMAGE) return 'nginx';
  return c.args?.includes('server/dist/cli.js') ? 'gateway' : 'app';
}
const deployments = (objs: K8sObject[]): K8sObject[] => objs.filter((o) => o.kind === 'Deployment');
const podOf = (d: K8sObject): PodSpec => specOf<DeploymentSpec>(d).template.spec;
const allContainers = (pod: PodSpec): Container[] => [...(pod.initContainers ?? []), ...pod.containers];
const envOf = (c: Container, name: string): string | undefined => c.env?.find((e) => e.name === name)?.value;
const matches = (selector: Record<string, string> | undefined, labels: Record<string, string>): boolean =>
  Object.entries(selector ?? {}).every(([k, v]) => labels[k] === v);
const byKind = (objs: K8sObject[], kind: string): K8sObject[] => objs.filter((o) => o.kind === kind);
function one(objs: K8sObject[], kind: string, name: string): K8sObject {
  const found = objs.find((o) => o.kind === kind && o.metadata.name === name);
  assert.ok(found, `no ${kind} ${name}`);
  return found;
}
/** The container's port number for a probe's or Service's port (a name or a number). */
function portNumber(c: Container, port: string | number): number {
  if (typeof port === 'number') return port;
  const p = c.ports?.find((x) => x.name === port);
  assert.ok(p, `${c.name}: no port named ${port}`);
  return p.containerPort;
}

/** The gateway's `--print-config` for a container's arguments and environment (what it would run with). */
function printedConfig(c: Container, extraEnv: Record<string, string> = {}): Map<string, unknown> {
  const [node, cli, ...args] = c.args ?? [];
  assert.deepEqual([node, cli], ['node', 'server/dist/cli.js']);
  const env: Record<string, string> = { PATH: process.env.PATH ?? '', ...runtimeEnv() };
  for (const e of c.env ?? []) if (e.value !== undefined) env[e.name] = e.value;
  const r = spawnSync(process.execPath, [join(ROOT, 'server/dist/cli.js'), '--print-config', ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...env, ...extraEnv },
  });
  assert.equal(r.status, 0, `gateway --print-config ${args.join(' ')}: ${r.stderr}`);
  const out = new Map<string, unknown>();
  for (const line of r.stdout.trim().split('\n')) {
    const eq = line.indexOf(' = ');
    out.set(line.slice(0, eq).trim(), JSON.parse(line.slice(eq + 3)));
  }
  return out;
}

/** Kubernetes CPU quantity ("2", "1500m") in CPUs. */
const cpus = (q: string): number => (q.endsWith('m') ? Number(q.slice(0, -1)) / 1000 : Number(q));

// ---- the checks --------------------------------------------------------------------------------------

describe('deploy/k8s: the overlays build and validate', { skip: NO_KUBECTL }, () => {
  let built = new Map<Overlay, K8sObject[]>();
  before(() => {
    built = buildOverlays();
  });
  const objects = (o: Overlay): K8sObject[] => built.get(o) ?? [];

  it('the validators run: a wrong type is refused, and a missing schema is an error', () => {
    const bad: K8sObject = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'bad' },
      spec: {
        selector: {},
        template: {
          spec: { containers: [{ name: 'a', image: 'b', lifecycle: { preStop: { sleep: { seconds: '5' } } } }] },
        },
      },
    };
    assert.throws(() => validate(bad), /sleep\/seconds must be integer/);
    assert.throws(() => validate({ ...bad, kind: 'Deploymnet' }), /no schema for apps\/v1 Deploymnet/);
    const route: K8sObject = {
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'HTTPRoute',
      metadata: { name: 'r' },
      spec: { rules: [{ timeouts: { request: 60 } }] },
    };
    assert.throws(() => validate(route), /timeouts\/request must be string/);
  });

  for (const overlay of OVERLAYS) {
    it(`${overlay}: every object validates against its Kubernetes or Gateway API schema`, () => {
      const kinds = new Set(objects(overlay).map((o) => o.kind));
      for (const kind of [
        'Namespace',
        'Deployment',
        'Service',
        'PodDisruptionBudget',
        'HorizontalPodAutoscaler',
        'NetworkPolicy',
        'Secret',
        'Gateway',
        'HTTPRoute',
      ]) {
        assert.ok(kinds.has(kind), `${overlay}: no ${kind}`);
      }
      if (overlay !== 'gateway') assert.ok(kinds.has('ConfigMap'), `${overlay}: no ConfigMap (nginx's config)`);
      for (const o of objects(overlay)) {
        assert.doesNotThrow(() => validate(o), `${overlay}: ${o.kind} ${o.metadata.name}`);
        if (o.kind !== 'Namespace')
          assert.equal(o.metadata.namespace, 'node-gateway-stack', `${o.kind} ${o.metadata.name}`);
      }
    });

    it(`${overlay}: the restricted Pod Security Standard, in the namespace's labels and in every pod`, () => {
      const ns = one(objects(overlay), 'Namespace', 'node-gateway-stack');
      assert.equal(ns.metadata.labels?.['pod-security.kubernetes.io/enforce'], 'restricted');
      const allowedVolumes = new Set(['configMap', 'secret', 'emptyDir', 'projected', 'downwardAPI']);
      for (const d of deployments(objects(overlay))) {
        const pod = podOf(d);
        const where = `${overlay}: Deployment ${d.metadata.name}`;
        assert.equal(pod.securityContext?.runAsNonRoot, true, `${where}: runAsNonRoot`);
        assert.equal(pod.securityContext?.seccompProfile?.type, 'RuntimeDefault', `${where}: seccompProfile`);
        assert.ok(!pod.hostNetwork && !pod.hostPID && !pod.hostIPC, `${where}: host namespaces`);
        // No API token, and no Service variables in GATEWAY_* / NGINX_* (a Service named gateway or nginx).
        assert.equal(pod.automountServiceAccountToken, false, `${where}: automountServiceAccountToken`);
        assert.equal(pod.enableServiceLinks, false, `${where}: enableServiceLinks`);
        for (const v of pod.volumes ?? []) {
          const types = Object.keys(v).filter((k) => k !== 'name');
          assert.ok(
            types.every((t) => allowedVolumes.has(t)),
            `${where}: volume ${v.name} is ${types.join(',')}`,
          );
        }
        for (const c of allContainers(pod)) {
          const sc = c.securityContext ?? {};
          const at = `${where}, container ${c.name}`;
          assert.equal(sc.allowPrivilegeEscalation, false, `${at}: allowPrivilegeEscalation`);
          assert.deepEqual(sc.capabilities?.drop, ['ALL'], `${at}: capabilities.drop`);
          assert.equal(sc.capabilities?.add, undefined, `${at}: capabilities.add`);
          assert.equal(sc.readOnlyRootFilesystem, true, `${at}: readOnlyRootFilesystem`);
          assert.notEqual(sc.privileged, true, `${at}: privileged`);
          assert.notEqual(sc.runAsUser ?? pod.securityContext?.runAsUser, 0, `${at}: runs as root`);
          assert.notEqual(sc.runAsNonRoot, false, `${at}: runAsNonRoot`);
          // What the processes write goes to an emptyDir at /tmp (the root filesystem is read-only).
          const tmp = c.volumeMounts?.find((m) => m.mountPath === '/tmp');
          assert.ok(tmp && pod.volumes?.find((v) => v.name === tmp.name)?.emptyDir, `${at}: no emptyDir at /tmp`);
        }
      }
    });

    it(`${overlay}: images are the ones docker-compose.yml builds, never latest, and keep their entrypoints`, () => {
      assert.match(RUNTIME_IMAGE, /^node-gateway-stack:[\w.-]+$/);
      assert.equal(NGINX_IMAGE, RUNTIME_IMAGE.replace(':', '-nginx:'));
      assert.equal(compose.services.gateway?.build?.target, 'runtime');
      assert.equal(compose.services['nginx-full']?.build?.target, 'nginx');
      for (const d of deployments(objects(overlay))) {
        for (const c of allContainers(podOf(d))) {
          const at = `${overlay}: ${d.metadata.name}/${c.name}`;
          assert.ok(
            [RUNTIME_IMAGE, NGINX_IMAGE].includes(c.image),
            `${at}: image ${c.image} is not one compose builds`,
          );
          const tag = c.image.split(':')[1];
          assert.ok(tag && tag !== 'latest', `${at}: image ${c.image} has no tag, or latest`);
          assert.notEqual(c.imagePullPolicy, 'Always', `${at}: a locally built image cannot be pulled`);
          // The entrypoints are the point: tini as PID 1 (signals to the master), nginx's template rendering.
          assert.equal(c.command, undefined, `${at}: command replaces the image's ENTRYPOINT`);
        }
      }
    });

    it(`${overlay}: probes on the right endpoints, on ports the container has`, () => {
      const healthConf = readFileSync(join(ROOT, 'nginx/includes/health.conf'), 'utf8');
      const expected: Record<Role, { startup: string; readiness: string; liveness: string }> = {
        // The master answers these on its health address: a worker busy with a request fails no probe.
        gateway: { startup: '/readyz', readiness: '/readyz', liveness: '/livez' },
        app: { startup: '/healthz', readiness: '/readyz', liveness: '/healthz' },
        nginx: { startup: '/nginx-health', readiness: '/nginx-health', liveness: '/nginx-health' },
      };
      for (const d of deployments(objects(overlay))) {
        for (const c of allContainers(podOf(d))) {
          const role = roleOf(c);
          const at = `${overlay}: ${d.metadata.name}/${c.name}`;
          for (const kind of ['startup', 'readiness', 'liveness'] as const) {
            const probe = c[`${kind}Probe`];
            assert.equal(probe?.httpGet?.path, expected[role][kind], `${at}: ${kind}Probe path`);
            const port = portNumber(c, probe?.httpGet?.port ?? '');
            if (role === 'gateway') {
              // On the health bind, and that on every address (the kubelet asks the pod's IP).
              assert.equal(envOf(c, 'GATEWAY_HEALTH_BIND'), `0.0.0.0:${port}`, `${at}: ${kind}Probe port`);
            }
            if (role === 'nginx') assert.equal(port, 8080, `${at}: nginx's health is on the plain-HTTP port`);
          }
        }
      }
      assert.match(healthConf, /location = \/nginx-health \{[^}]*return 200/, 'nginx/includes/health.conf');
    });

    it(`${overlay}: the stop grace covers preStop sleep + shutdown delay + drain + margin (config/limits.json)`, () => {
      for (const d of deployments(objects(overlay))) {
        const pod = podOf(d);
        const grace = pod.terminationGracePeriodSeconds;
        assert.equal(grace, limits.stopGracePeriodS, `${d.metadata.name}: terminationGracePeriodSeconds`);
        for (const c of pod.containers) {
          const at = `${overlay}: ${d.metadata.name}/${c.name}`;
          const sleep = c.lifecycle?.preStop?.sleep?.seconds;
          assert.ok(typeof sleep === 'number' && sleep > 0, `${at}: no preStop sleep`);
          // The gateway's own delay and drain as it would run them; the app and nginx have no delay,
          // and drain for gracefulTimeoutS (app/src/standalone.ts; nginx: as long as the backend).
          const config = roleOf(c) === 'gateway' ? printedConfig(c) : undefined;
          const delay = (config?.get('shutdown_delay') as number | undefined) ?? 0;
          const drain = (config?.get('graceful_timeout') as number | undefined) ?? limits.gracefulTimeoutS;
          assert.equal(drain, limits.gracefulTimeoutS, `${at}: graceful_timeout`);
          // Serving on after the deletion, while the edge stops sending: exactly shutdownDelayS, by
          // the sleep or the gateway's delay; both would only make every stop longer.
          assert.equal(sleep + delay, limits.shutdownDelayS, `${at}: preStop sleep ${sleep} + shutdown_delay ${delay}`);
          const needed = sleep + delay + (drain as number) + 5;
          assert.ok((grace ?? 30) >= needed, `${at}: grace ${grace} < sleep + delay + drain + 5 = ${needed}`);
        }
        // A sidecar stops after the main containers: a sleep there would only add to every stop.
        for (const c of pod.initContainers ?? []) assert.equal(c.lifecycle?.preStop, undefined, `${c.name}: preStop`);
      }
    });

    it(`${overlay}: rollouts keep every pod until its successor is ready; PDB, HPA on CPU, spread across nodes`, () => {
      for (const d of deployments(objects(overlay))) {
        const spec = specOf<DeploymentSpec>(d);
        const name = d.metadata.name;
        const labels = spec.template.metadata.labels;
        assert.equal(spec.strategy?.type, 'RollingUpdate', `${name}: strategy`);
        assert.equal(spec.strategy?.rollingUpdate?.maxUnavailable, 0, `${name}: maxUnavailable`);
        assert.equal(spec.replicas, undefined, `${name}: replicas is the autoscaler's`);
        const pdb = byKind(objects(overlay), 'PodDisruptionBudget').filter((p) =>
          matches(specOf<{ selector: { matchLabels: Record<string, string> } }>(p).selector.matchLabels, labels),
        );
        assert.equal(pdb.length, 1, `${name}: one PodDisruptionBudget selects its pods`);
        const hpa = byKind(objects(overlay), 'HorizontalPodAutoscaler').find(
          (h) => specOf<{ scaleTargetRef: { name: string } }>(h).scaleTargetRef.name === name,
        );
        assert.ok(hpa, `${name}: no HorizontalPodAutoscaler`);
        const hpaSpec = specOf<{
          minReplicas: number;
          metrics: Array<Record<string, { name?: string; container?: string }>>;
        }>(hpa);
        assert.ok(hpaSpec.minReplicas >= 2, `${name}: minReplicas < 2 (a drain or a rollout would leave none)`);
        const cpu = hpaSpec.metrics.some((m) => m.resource?.name === 'cpu' || m.containerResource?.name === 'cpu');
        assert.ok(cpu, `${name}: the autoscaler does not scale on CPU`);
        for (const m of hpaSpec.metrics) {
          const container = m.containerResource?.container;
          if (container)
            assert.ok(
              spec.template.spec.containers.some((c) => c.name === container),
              `${name}: HPA container`,
            );
        }
        const spread = spec.template.spec.topologySpreadConstraints?.find(
          (t) => t.topologyKey === 'kubernetes.io/hostname',
        );
        assert.ok(spread && spread.maxSkew === 1, `${name}: no spread across nodes`);
        assert.ok(matches(spread.labelSelector?.matchLabels, labels), `${name}: the spread does not select its pods`);
      }
    });

    it(`${overlay}: WEB_CONCURRENCY is the gateway's CPU limit, and the gateway runs that many workers`, (t) => {
      const gateways = deployments(objects(overlay)).flatMap((d) =>
        podOf(d).containers.filter((c) => roleOf(c) === 'gateway'),
      );
      if (overlay === 'proxy') {
        assert.equal(gateways.length, 0);
        return t.skip('no gateway in this overlay (the app runs one process per pod)');
      }
      for (const c of gateways) {
        const ref = c.env?.find((e) => e.name === 'WEB_CONCURRENCY')?.valueFrom?.resourceFieldRef;
        assert.deepEqual(
          ref,
          { containerName: c.name, resource: 'limits.cpu', divisor: '1' },
          `${c.name}: WEB_CONCURRENCY`,
        );
        const limit = c.resources?.limits?.cpu;
        assert.ok(limit, `${c.name}: no CPU limit for WEB_CONCURRENCY to come from`);
        // What the kubelet puts there: the limit in whole CPUs, rounded up.
        const workers = Math.ceil(cpus(limit));
        const config = printedConfig(c, { WEB_CONCURRENCY: String(workers) });
        assert.equal(config.get('workers'), workers);
        assert.match(String(config.get('workers_source')), /WEB_CONCURRENCY/);
      }
    });

    it(`${overlay}: every Secret and ConfigMap a pod or the Gateway names is in the build`, () => {
      const names = (kind: string): string[] => byKind(objects(overlay), kind).map((o) => o.metadata.name);
      for (const d of deployments(objects(overlay))) {
        for (const v of podOf(d).volumes ?? []) {
          if (v.secret)
            assert.ok(
              names('Secret').includes(v.secret.secretName),
              `${d.metadata.name}: Secret ${v.secret.secretName}`,
            );
          if (v.configMap)
            assert.ok(
              names('ConfigMap').includes(v.configMap.name),
              `${d.metadata.name}: ConfigMap ${v.configMap.name}`,
            );
        }
        for (const c of allContainers(podOf(d))) {
          for (const m of c.volumeMounts ?? []) {
            assert.ok(
              podOf(d).volumes?.some((v) => v.name === m.name),
              `${d.metadata.name}/${c.name}: no volume ${m.name}`,
            );
          }
        }
      }
      const tls = byKind(objects(overlay), 'Secret');
      assert.equal(tls.length, 1);
      assert.equal(tls[0]?.type, 'kubernetes.io/tls');
      assert.deepEqual(Object.keys(tls[0]?.data ?? {}).sort(), ['tls.crt', 'tls.key']);
    });

    it(`${overlay}: the edge is a Gateway API Gateway; HTTPRoutes reach a Service port that reaches a container`, () => {
      const gateway = one(objects(overlay), 'Gateway', 'edge');
      const listeners = specOf<{ listeners: Array<Record<string, unknown>> }>(gateway).listeners as Array<{
        name: string;
        protocol: string;
        hostname: string;
        tls?: { mode: string; certificateRefs: Array<{ name: string }> };
      }>;
      const https = listeners.find((l) => l.protocol === 'HTTPS');
      assert.equal(https?.tls?.mode, 'Terminate');
      assert.equal(https?.tls?.certificateRefs[0]?.name, byKind(objects(overlay), 'Secret')[0]?.metadata.name);
      const hostname = https?.hostname as string;
      interface Route {
        parentRefs: Array<{ name: string; sectionName: string }>;
        hostnames: string[];
        rules: Array<{
          backendRefs?: Array<{ name: string; port: number }>;
          filters?: Array<{ type: string; requestRedirect?: { scheme: string; statusCode: number } }>;
          timeouts?: { request?: string };
          matches?: unknown[];
        }>;
      }
      const routes = byKind(objects(overlay), 'HTTPRoute').map((r) => [r.metadata.name, specOf<Route>(r)] as const);
      for (const [name, route] of routes) {
        assert.deepEqual(route.hostnames, [hostname], `HTTPRoute ${name}: hostnames`);
        for (const ref of route.parentRefs) {
          assert.equal(ref.name, 'edge');
          assert.ok(
            listeners.some((l) => l.name === ref.sectionName),
            `HTTPRoute ${name}: no listener ${ref.sectionName}`,
          );
        }
      }
      const redirect = routes.find(([, r]) => r.parentRefs[0]?.sectionName === 'http')?.[1];
      assert.deepEqual(redirect?.rules[0]?.filters?.[0]?.requestRedirect, { scheme: 'https', statusCode: 301 });
      const site = routes.find(([n]) => n === 'site')?.[1];
      assert.ok(site, 'no HTTPRoute site');
      // The catch-all rule allows a request what the stack allows it everywhere else.
      const catchAll = site.rules.find((r) => !r.matches);
      assert.equal(catchAll?.timeouts?.request, `${limits.proxyReadTimeoutS}s`, 'site: request timeout');
      for (const rule of site.rules) {
        for (const ref of rule.backendRefs ?? []) {
          const service = one(objects(overlay), 'Service', ref.name);
          const svc = specOf<{ selector: Record<string, string>; ports: Array<{ port: number; targetPort: string }> }>(
            service,
          );
          const port = svc.ports.find((p) => p.port === ref.port);
          assert.ok(port, `Service ${ref.name} has no port ${ref.port}`);
          const pods = deployments(objects(overlay)).filter((d) =>
            matches(svc.selector, specOf<DeploymentSpec>(d).template.metadata.labels),
          );
          assert.equal(pods.length, 1, `Service ${ref.name} selects one Deployment`);
          const target = allContainers(podOf(pods[0] as K8sObject)).filter((c) =>
            c.ports?.some((p) => p.name === port.targetPort),
          );
          assert.equal(target.length, 1, `Service ${ref.name}: port ${port.targetPort} is one container's`);
          // Who answers the edge: the gateway alone, or nginx, whose site server must carry the same name.
          const served = target[0] as Container;
          assert.equal(
            roleOf(served),
            overlay === 'gateway' ? 'gateway' : 'nginx',
            `${overlay}: the edge reaches ${served.name}`,
          );
          if (roleOf(served) === 'nginx')
            assert.equal(envOf(served, 'NGINX_SERVER_NAMES'), hostname, 'NGINX_SERVER_NAMES');
        }
      }
    });

    it(`${overlay}: network policies: default deny; only the edge reaches the site, only monitoring the metrics`, () => {
      const policies = byKind(objects(overlay), 'NetworkPolicy').map(
        (p) => [p.metadata.name, specOf<PolicySpec>(p)] as const,
      );
      const deny = policies.find(([, p]) => Object.keys(p.podSelector).length === 0 && !p.ingress && !p.egress);
      assert.deepEqual(deny?.[1].policyTypes, ['Ingress', 'Egress'], 'no default-deny policy for ingress and egress');
      const EDGE = { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'envoy-gateway-system' } } };
      const MONITORING = { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } };
      const NGINX_PODS = { podSelector: { matchLabels: { 'app.kubernetes.io/name': 'nginx' } } };
      // Every (pods, port) <- peer that some policy lets in, as `pods:port <- peer`.
      const allowed = new Set<string>();
      for (const [name, p] of policies) {
        for (const rule of p.ingress ?? []) {
          assert.ok(
            rule.from?.length && rule.ports?.length,
            `NetworkPolicy ${name}: an ingress rule open to any peer or port`,
          );
          for (const peer of rule.from)
            for (const port of rule.ports) {
              allowed.add(
                `${p.podSelector.matchLabels?.['app.kubernetes.io/name']}:${port.port} <- ${JSON.stringify(peer)}`,
              );
            }
        }
      }
      const expected: Record<Overlay, Array<[string, number, Peer]>> = {
        gateway: [
          ['gateway', 8000, EDGE],
          ['gateway', 9464, MONITORING],
        ],
        proxy: [
          ['nginx', 8080, EDGE],
          ['nginx', 8091, MONITORING],
          ['app', 8000, NGINX_PODS],
        ],
        full: [
          ['gateway', 8080, EDGE],
          ['gateway', 9464, MONITORING],
          ['gateway', 8091, MONITORING],
        ],
      };
      const want = expected[overlay].map(([pods, port, peer]) => `${pods}:${port} <- ${JSON.stringify(peer)}`);
      assert.deepEqual([...allowed].sort(), want.sort());
      // Egress: DNS for every pod; in proxy, nginx to the app's port and nothing else.
      const egress = policies.flatMap(([, p]) => (p.egress ?? []).map((e) => [p.podSelector, e] as const));
      for (const [selector, rule] of egress) {
        const ports = (rule.ports ?? []).map((x) => x.port);
        const dns = ports.every((x) => x === 53) && rule.to?.[0]?.podSelector?.matchLabels?.['k8s-app'] === 'kube-dns';
        const toApp =
          overlay === 'proxy' &&
          selector.matchLabels?.['app.kubernetes.io/name'] === 'nginx' &&
          ports.join() === '8000';
        assert.ok(dns || toApp, `an egress rule that is neither DNS nor nginx -> app: ${JSON.stringify(rule)}`);
      }
    });
  }

  /** The nginx containers of an overlay: proxy's Deployment, full's sidecar. */
  const nginxContainers = (overlay: Overlay): Container[] =>
    deployments(objects(overlay)).flatMap((d) => allContainers(podOf(d)).filter((c) => roleOf(c) === 'nginx'));

  it("nginx's ConfigMap is generated from nginx/ itself, and every file is mounted where the image has it", () => {
    const files = [
      ...readdirSync(join(ROOT, 'nginx/templates'), { recursive: true })
        .map((f) => `templates/${String(f)}`)
        .filter((f) => f.endsWith('.template')),
      ...readdirSync(join(ROOT, 'nginx/includes')).map((f) => `includes/${f}`),
    ].sort();
    assert.ok(files.includes('templates/nginx.conf.template'), files.join(', '));
    for (const overlay of ['proxy', 'full'] as const) {
      const configMaps = byKind(objects(overlay), 'ConfigMap');
      assert.equal(configMaps.length, 1, `${overlay}: one ConfigMap`);
      const data = configMaps[0]?.data ?? {};
      // Every file, byte for byte, and nothing else: a file added to nginx/ and not to
      // nginx/kustomization.yaml fails here.
      assert.deepEqual(Object.keys(data).sort(), files.map((f) => f.replaceAll('/', '_')).sort(), `${overlay}: keys`);
      for (const f of files)
        assert.equal(data[f.replaceAll('/', '_')], readFileSync(join(ROOT, 'nginx', f), 'utf8'), f);
      const containers = nginxContainers(overlay);
      assert.equal(containers.length, 1, `${overlay}: one nginx container`);
      for (const c of containers) {
        // The Dockerfile's COPY nginx/includes /etc/nginx/includes and nginx/templates /etc/nginx/templates.
        const mounted = (c.volumeMounts ?? []).filter((m) => m.subPath).map((m) => [m.subPath, m.mountPath]);
        assert.deepEqual(
          mounted.sort(),
          files.map((f) => [f.replaceAll('/', '_'), `/etc/nginx/${f}`]).sort(),
          `${overlay}: mounts`,
        );
      }
    }
    // Not a copy: no nginx config file lives under deploy/k8s.
    const copies = readdirSync(join(ROOT, 'deploy/k8s'), { recursive: true })
      .map(String)
      .filter((f) => /\.(conf|template)$/.test(f));
    assert.deepEqual(copies, []);
  });

  it("the nginx sidecar of full is proxy's nginx container but for the upstream (a socket the gateway binds)", () => {
    const [proxy] = nginxContainers('proxy');
    const [full] = nginxContainers('full');
    assert.ok(proxy && full);
    const without = (c: Container): unknown => ({
      ...c,
      env: c.env?.filter((e) => e.name !== 'NGINX_BACKEND'),
      volumeMounts: c.volumeMounts
        ?.filter((m) => m.mountPath !== '/run/gateway')
        .map((m) => ({ ...m, name: m.name.replace(/^nginx-tmp$/, 'tmp') })),
      // The sidecar states nginx's uid itself (its pod runs as the gateway's); proxy's pod does.
      securityContext: { ...c.securityContext, runAsUser: undefined, runAsGroup: undefined },
      lifecycle: undefined,
      restartPolicy: undefined,
    });
    assert.deepEqual(without(full), without(proxy));
    assert.equal(full.restartPolicy, 'Always', 'a native sidecar: started first, stopped last');
    const fullPod = podOf(one(objects('full'), 'Deployment', 'gateway'));
    assert.ok(fullPod.initContainers?.includes(full), 'the sidecar is an init container');
    const backend = envOf(full, 'NGINX_BACKEND') ?? '';
    assert.match(backend, /^unix:\//);
    const socket = backend.slice('unix:'.length);
    const gateway = fullPod.containers.find((c) => roleOf(c) === 'gateway') as Container;
    const args = gateway.args ?? [];
    assert.equal(args[args.indexOf('--bind') + 1], `unix:${socket}`, 'the gateway binds the socket nginx uses');
    const shared = (c: Container): string | undefined =>
      c.volumeMounts?.find((m) => socket.startsWith(`${m.mountPath}/`))?.name;
    assert.ok(shared(gateway) && shared(gateway) === shared(full), 'the socket is in a volume both containers mount');
    assert.ok(fullPod.volumes?.find((v) => v.name === shared(gateway))?.emptyDir, 'the socket volume is an emptyDir');
    // nginx (uid 101) connects to a 660 socket through the pod's fsGroup, its supplementary group.
    assert.equal(printedConfig(gateway).get('unix_socket_mode'), 660);
    assert.ok(fullPod.securityContext?.fsGroup, 'no fsGroup: nginx could not connect to the socket');
    assert.equal(envOf(proxy, 'NGINX_BACKEND'), 'backend:8000');
    const backendService = specOf<{ clusterIP?: string; selector: Record<string, string> }>(
      one(objects('proxy'), 'Service', 'backend'),
    );
    assert.equal(backendService.clusterIP, 'None', "backend is headless: nginx balances over the pods' own addresses");
  });

  it("the nginx containers' NGINX_* environment passes the image's own check script and renders", () => {
    for (const overlay of ['proxy', 'full'] as const) {
      for (const c of nginxContainers(overlay)) {
        const vars: Record<string, string> = {};
        for (const e of c.env ?? []) if (e.name.startsWith('NGINX_') && e.value !== undefined) vars[e.name] = e.value;
        const dir = mkdtempSync(join(tmpdir(), 'k8s-nginx-'));
        try {
          // Throws with the script's message on a value the container would refuse at start.
          const { env } = nginxConfigTree(dir, vars);
          assert.equal(env.NGINX_PLAIN_HTTP, 'site', `${overlay}: TLS ends at the edge, port 8080 serves the site`);
          assert.match(
            env.NGINX_REAL_IP_INCLUDE ?? '',
            /real-ip\.conf/,
            `${overlay}: the edge's X-Forwarded-For is believed`,
          );
          const conf = readFileSync(join(dir, 'nginx.conf'), 'utf8');
          assert.ok(conf.includes(`server ${vars.NGINX_BACKEND} `), `${overlay}: upstream ${vars.NGINX_BACKEND}`);
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      }
    }
  });

  it('the gateway runs as compose runs it (but for where it listens), and its startup probe outlasts its boot timeout', () => {
    const composed = (compose.services.gateway?.command ?? []).map(composeDefault);
    const withoutBind = (args: string[]): string[] => args.filter((_, i) => args[i - 1] !== '--bind');
    for (const overlay of ['gateway', 'full'] as const) {
      const c = podOf(one(objects(overlay), 'Deployment', 'gateway')).containers.find((x) => roleOf(x) === 'gateway');
      assert.ok(c);
      assert.deepEqual(withoutBind(c.args ?? []), withoutBind(composed), `${overlay}: args`);
      const config = printedConfig(c);
      for (const [setting, value] of Object.entries({
        timeout: limits.workerTimeoutS,
        graceful_timeout: limits.gracefulTimeoutS,
        keepalive: limits.gatewayKeepAliveTimeoutS,
        limit_request_body: limits.bodyLimitBytes,
      })) {
        assert.equal(config.get(setting), value, `${overlay}: ${setting}`);
      }
      const probe = c.startupProbe as Required<Probe>;
      const budget = probe.periodSeconds * probe.failureThreshold;
      const boot = config.get('boot_timeout') as number;
      assert.ok(
        budget > boot,
        `${overlay}: startup probe ${budget}s <= boot_timeout ${boot}s (the kubelet would kill a boot)`,
      );
    }
  });

  it('the probe paths are answered: the real gateway (master health address and the app it hosts)', async (t) => {
    const c = podOf(one(objects('gateway'), 'Deployment', 'gateway')).containers[0] as Container;
    const app = podOf(one(objects('proxy'), 'Deployment', 'app')).containers[0] as Container;
    const [health, port] = [await freePort(), await freePort()];
    const env: Record<string, string> = {};
    for (const e of c.env ?? []) if (e.value !== undefined) env[e.name] = e.value;
    const gw = await startGateway(['-w', '1', '--bind', `127.0.0.1:${port}`, 'app/dist/app.js'], {
      ...env,
      GATEWAY_HEALTH_BIND: `127.0.0.1:${health}`,
      GATEWAY_METRICS_BIND: '',
    });
    t.after(() => gw.stop());
    for (const probe of [c.startupProbe, c.readinessProbe, c.livenessProbe]) {
      assert.equal(await httpStatus(health, probe?.httpGet?.path ?? ''), 200, `gateway: ${probe?.httpGet?.path}`);
    }
    // The app's own server serves the same app (app/src/app.ts) as the gateway hosts.
    for (const probe of [app.startupProbe, app.readinessProbe, app.livenessProbe]) {
      assert.equal(await httpStatus(port, probe?.httpGet?.path ?? ''), 200, `app: ${probe?.httpGet?.path}`);
    }
    assert.equal(await httpStatus(health, '/nope'), 404, 'the health address answers only its paths');
  });

  it('every "limits.json: KEY" comment in deploy/k8s names a key, and its line holds that value', () => {
    let seen = 0;
    for (const f of readdirSync(join(ROOT, 'deploy/k8s'), { recursive: true }).map(String)) {
      if (!f.endsWith('.yaml')) continue;
      for (const line of readFileSync(join(ROOT, 'deploy/k8s', f), 'utf8').split('\n')) {
        const m = /^\s*[\w-]+:\s*"?(\d+)s?"?\s*#\s*limits\.json: (\w+)\s*$/.exec(line);
        if (!line.includes('limits.json:') || line.trimStart().startsWith('#')) continue;
        assert.ok(m, `deploy/k8s/${f}: cannot read "${line.trim()}"`);
        assert.ok((m[2] as string) in limits, `deploy/k8s/${f}: limits.json has no ${m[2]}`);
        assert.equal(Number(m[1]), limits[m[2] as string], `deploy/k8s/${f}: ${line.trim()}`);
        seen++;
      }
    }
    assert.ok(seen >= 8, `only ${seen} marked lines`);
  });
});
