/**
 * The request's host, as RFC 9112 §3.2 defines it, for a gateway that is the edge: the Host field's
 * syntax, the absolute-form target's authority (which takes precedence over the Host field), and
 * `allowed_hosts`, the names this gateway answers for (nginx's `server_name`; nginx closes the
 * connection of any other name with 444, the gateway answers 400, or 421 for a TLS connection
 * whose server name (SNI) is not one of them).
 */

/**
 * RFC 9110 §7.2 / RFC 3986: `uri-host [ ":" port ]`, where uri-host is an IP literal in brackets or
 * a reg-name (IPv4 addresses are reg-names too). Empty is valid: a client sends `Host:` empty for a
 * target without an authority. Markup, spaces, `@` and `/` are not.
 */
const HOST_SYNTAX = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9\-._~%!$&'()*+,;=]*)(?::[0-9]*)?$/;

export function validHost(value: string): boolean {
  return HOST_SYNTAX.test(value);
}

/** The host name of a Host value (or an authority), lower case, without the port. */
export function hostnameOf(value: string): string {
  if (value.startsWith('[')) {
    const end = value.indexOf(']');
    return (end === -1 ? value : value.slice(0, end + 1)).toLowerCase();
  }
  const colon = value.indexOf(':');
  return (colon === -1 ? value : value.slice(0, colon)).toLowerCase();
}

/** scheme "://" authority, then the path: what an absolute-form request target starts with. */
const ABSOLUTE_FORM = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/([^/?#]*)/;

/**
 * The authority and origin-form path of an absolute-form target (`GET http://a.example/x?y`), or
 * undefined for the usual origin form (`/x?y`) and for `*`. The authority may not carry userinfo:
 * RFC 9110 §4.2.4 says to treat `user@` in an http(s) URI as an error.
 */
export function absoluteTarget(url: string): { authority: string; path: string } | undefined {
  if (url.charCodeAt(0) === 47 /* / */ || url === '*') return undefined;
  const m = ABSOLUTE_FORM.exec(url);
  if (!m) return undefined;
  const rest = url.slice(m[0].length);
  return { authority: m[1]!, path: rest === '' || rest.startsWith('?') ? `/${rest}` : rest };
}

/** A compiled `allowed_hosts`: exact names, and suffixes from `*.example.com` and `.example.com`. */
export interface AllowedHosts {
  allows(hostname: string): boolean;
}

const compiled = new WeakMap<readonly string[], AllowedHosts | undefined>();

/**
 * `allowed_hosts` compiled once per list (a worker's config is one object for its life): entries as
 * nginx's server_name takes them — `example.com`, `*.example.com` (any subdomain), `.example.com`
 * (the name and any subdomain), `*` (anything). Undefined for an empty list: every host is allowed.
 */
export function allowedHosts(list: readonly string[]): AllowedHosts | undefined {
  if (compiled.has(list)) return compiled.get(list);
  let out: AllowedHosts | undefined;
  if (list.length > 0) {
    const exact = new Set<string>();
    const suffixes: string[] = [];
    let any = false;
    for (const raw of list) {
      const entry = raw.toLowerCase();
      if (entry === '*') any = true;
      else if (entry.startsWith('*.')) suffixes.push(entry.slice(1));
      else if (entry.startsWith('.')) {
        exact.add(entry.slice(1));
        suffixes.push(entry);
      } else exact.add(entry);
    }
    out = {
      allows: (hostname) => any || exact.has(hostname) || suffixes.some((s) => hostname.endsWith(s)),
    };
  }
  compiled.set(list, out);
  return out;
}
