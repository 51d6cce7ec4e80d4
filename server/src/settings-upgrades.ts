/**
 * The settings of upgraded connections (WebSockets, or any protocol an app takes over after HTTP
 * Upgrade): one part of the one table in settings.ts, kept apart only for that file's length.
 * An upgraded connection lives as long as the app keeps it, and holds one of the worker's
 * worker_connections slots the whole time: without these bounds, idle WebSockets from one client
 * could fill every slot and leave ordinary requests nowhere to go.
 */
import { spec, toInt, toSeconds } from './setting-spec.js';

export const UPGRADE_SETTINGS = [
  spec({
    name: 'max_upgraded_connections',
    section: 'Upgrades (WebSockets)',
    flags: ['--max-upgraded-connections'],
    kind: 'int',
    meta: 'INT',
    default: 500,
    validate: toInt(0),
    desc:
      'Upgraded connections (WebSockets) one worker holds at most (0: no bound); past it an upgrade request is ' +
      'answered 503 with Retry-After and the app never sees it. Keep it below worker_connections (the default is a ' +
      'tenth of its default), so ordinary requests always find a slot.',
  }),
  spec({
    name: 'max_upgraded_per_client',
    section: 'Upgrades (WebSockets)',
    flags: ['--max-upgraded-per-client'],
    kind: 'int',
    meta: 'INT',
    default: 32,
    validate: toInt(0),
    desc:
      'Upgraded connections one client address holds at most on one worker (0: no bound); more are answered 429. ' +
      'The client is the one forwarded_allow_ips lets the gateway believe: behind nginx, the client nginx names.',
  }),
  spec({
    name: 'upgrade_idle_timeout',
    section: 'Upgrades (WebSockets)',
    flags: ['--upgrade-idle-timeout'],
    kind: 'seconds',
    meta: 'SECONDS',
    default: 300,
    validate: toSeconds(0),
    desc:
      'An upgraded connection on which not a byte has moved either way for this long is closed (0: never); checked ' +
      'once per period, so it goes between one and two periods after its last byte. A backstop for apps that do ' +
      'not ping their WebSockets; a ping and its answer count as traffic.',
  }),
] as const;
