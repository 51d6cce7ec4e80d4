/**
 * A mutation fuzzer for HTTP/1.1 request heads: a corpus of valid requests to the sample app,
 * and mutations that target what parsers and the gateway's own head checks get wrong (byte
 * flips, CR/LF/NUL injection, odd methods and versions, huge, duplicated and folded headers,
 * framing headers added or doubled, truncation, two requests spliced). Seeded, so a failure is
 * replayed with the same FUZZ_SEED; the generated input is in the failure message.
 */

/** mulberry32: small, fast, good enough to spread mutations; deterministic per seed. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const H = 'Host: localhost\r\n';
export const CORPUS: string[] = [
  `GET / HTTP/1.1\r\n${H}\r\n`,
  `GET /whoami?x=1 HTTP/1.1\r\n${H}User-Agent: fuzz\r\nAccept: */*\r\n\r\n`,
  `GET /healthz HTTP/1.0\r\n\r\n`,
  `GET /static/1k.txt HTTP/1.1\r\n${H}If-None-Match: "x"\r\nRange: bytes=0-10\r\n\r\n`,
  `GET /slow?ms=1 HTTP/1.1\r\n${H}Connection: keep-alive\r\n\r\n`,
  `GET /cpu?ms=1 HTTP/1.1\r\n${H}X-Forwarded-For: 1.2.3.4, 5.6.7.8\r\nForwarded: for=9.9.9.9;proto=https\r\n\r\n`,
  `POST /upload HTTP/1.1\r\n${H}Content-Type: application/octet-stream\r\nContent-Length: 11\r\n\r\nhello world`,
  `POST /upload HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nTrailer: x\r\n\r\n`,
  `POST /api/items HTTP/1.1\r\n${H}Content-Type: application/json\r\nContent-Length: 40\r\n\r\n{"name":"a","price":1,"tags":["x","y"]}\r\n`,
  `GET /api/items?offset=0&limit=5 HTTP/1.1\r\n${H}Cookie: a=1; b=2\r\n\r\n`,
  `OPTIONS * HTTP/1.1\r\n${H}\r\n`,
  `HEAD /stream HTTP/1.1\r\n${H}Expect: 100-continue\r\n\r\n`,
  `GET / HTTP/1.1\r\n${H}\r\nGET /whoami HTTP/1.1\r\n${H}Connection: close\r\n\r\n`,
];

const METHODS = [
  'get',
  'GET ',
  'G ET',
  'PRI',
  'CONNECT',
  'TRACE',
  'M-SEARCH',
  'PROPFIND',
  'X'.repeat(300),
  'GET\t',
  'P\u00d6ST',
  '',
  'DELETE',
  'PURGE',
  'QUERY',
];
const VERSIONS = [
  'HTTP/1.2',
  'HTTP/2.0',
  'HTTP/1',
  'http/1.1',
  'HTTP/1.1x',
  'HTTP/01.1',
  'HTTP/1.1 ',
  'HTTP/9',
  'HTTP/0.9',
  'HTTP/1.10',
  '',
  'HTTP\\1.1',
];
const INJECT = [
  '\r',
  '\n',
  '\r\n',
  '\r\n\r\n',
  '\0',
  ' ',
  '\t',
  ':',
  '\x7f',
  '\xff',
  '%',
  '%00',
  '\r\n ',
  ';',
  ',',
  '"',
  '\x0b',
];
const FRAMING = [
  'Content-Length: 0',
  'Content-Length: 5',
  'Content-Length: -1',
  'Content-Length: 99999999999999999999',
  'Content-Length: 1e3',
  'Content-Length: 0x10',
  'Transfer-Encoding: chunked',
  'Transfer-Encoding: gzip, chunked',
  'Transfer-Encoding: chunked, identity',
  'Transfer-Encoding: xchunked',
  'Transfer-Encoding:  chunked ',
  'Expect: 100-continue',
  'Expect: 200-ok',
  'Connection: close, upgrade',
  'Upgrade: websocket',
  'Upgrade: h2c',
  'Host: a',
  'Host:',
  'Content-Type: application/json; charset=utf-16',
];

export type Mutation = (s: string, r: () => number) => string;

const pick = <T>(xs: readonly T[], r: () => number): T => xs[Math.floor(r() * xs.length)]!;
const at = (s: string, r: () => number) => Math.floor(r() * (s.length + 1));
const headEnd = (s: string) => {
  const i = s.indexOf('\r\n\r\n');
  return i === -1 ? s.length : i;
};

export const MUTATIONS: Record<string, Mutation> = {
  flipByte: (s, r) => {
    const i = at(s, r);
    return s.slice(0, i) + String.fromCharCode(Math.floor(r() * 256)) + s.slice(i + 1);
  },
  inject: (s, r) => {
    const i = at(s, r);
    return s.slice(0, i) + pick(INJECT, r) + s.slice(i);
  },
  injectInHead: (s, r) => {
    const i = Math.floor(r() * headEnd(s));
    return s.slice(0, i) + pick(INJECT, r) + s.slice(i);
  },
  deleteSpan: (s, r) => {
    const i = at(s, r);
    return s.slice(0, i) + s.slice(i + 1 + Math.floor(r() * 16));
  },
  duplicateSpan: (s, r) => {
    const i = at(s, r);
    const span = s.slice(i, i + 1 + Math.floor(r() * 40));
    return s.slice(0, i) + span.repeat(1 + Math.floor(r() * 4)) + s.slice(i);
  },
  method: (s, r) => pick(METHODS, r) + s.slice(s.indexOf(' ')),
  version: (s, r) => s.replace(/HTTP\/1\.[01]/, pick(VERSIONS, r)),
  hugeHeader: (s, r) => addHeader(s, `X-Huge: ${'h'.repeat(2000 + Math.floor(r() * 20000))}`),
  hugeTarget: (s, r) => s.replace(' /', ` /${'t'.repeat(1000 + Math.floor(r() * 8000))}`),
  manyHeaders: (s, r) =>
    addHeader(s, Array.from({ length: 50 + Math.floor(r() * 200) }, (_, i) => `X-M${i}: ${i}`).join('\r\n')),
  duplicateHeader: (s) => {
    const line = /\r\n([^\r\n]+)\r\n/.exec(s)?.[1];
    return line ? addHeader(s, line) : s;
  },
  framing: (s, r) => addHeader(s, pick(FRAMING, r)),
  obsFold: (s, r) => {
    const lines = s.slice(0, headEnd(s)).split('\r\n');
    const i = 1 + Math.floor(r() * Math.max(1, lines.length - 1));
    lines.splice(i, 0, ` folded${pick(INJECT, r)}`);
    return lines.join('\r\n') + s.slice(headEnd(s));
  },
  bareLf: (s) => s.replace(/\r\n/, '\n'),
  truncate: (s, r) => s.slice(0, Math.floor(r() * s.length)),
  splice: (s, r) => {
    const o = pick(CORPUS, r);
    return s.slice(0, at(s, r)) + o.slice(Math.floor(r() * o.length));
  },
  highBytesInTarget: (s, r) =>
    s.replace(' /', ` /${String.fromCharCode(0x80 + Math.floor(r() * 128))}%${Math.floor(r() * 256).toString(16)}`),
  headerNameJunk: (s, r) => addHeader(s, `${pick(['X A', 'X:A', '', ' X', 'X\0', '\u00e9', '@', 'X-\x7f'], r)}: v`),
};

function addHeader(s: string, line: string): string {
  const i = s.indexOf('\r\n');
  return i === -1 ? `${s}\r\n${line}` : `${s.slice(0, i + 2)}${line}\r\n${s.slice(i + 2)}`;
}

export interface FuzzCase {
  input: string;
  mutations: string[];
}

/** One case: a corpus entry with 1–3 mutations. */
export function generate(r: () => number): FuzzCase {
  let input = pick(CORPUS, r);
  const names = Object.keys(MUTATIONS);
  const mutations: string[] = [];
  const n = 1 + Math.floor(r() * 3);
  for (let k = 0; k < n; k++) {
    const name = pick(names, r);
    mutations.push(name);
    input = MUTATIONS[name]!(input, r);
  }
  return { input, mutations };
}
