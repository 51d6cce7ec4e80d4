// A small grouped bar chart as standalone SVG: no dependencies, readable in a
// browser, on GitHub and in an image viewer. Groups along x (steps), one bar per
// series (topology) in each, value printed above every bar.

export interface BarChart {
  title: string;
  /** Unit of the y axis, e.g. "req/s". */
  unit: string;
  /** Group labels along x. */
  groups: string[];
  /** One series per topology: values[i] belongs to groups[i]; null = not measured. */
  series: Array<{ name: string; values: Array<number | null> }>;
  /** Optional note under the title. */
  subtitle?: string;
}

/** Colours per series name (stable across charts), then a fallback palette. */
const COLOURS: Record<string, string> = {
  gateway: '#2b6cb0',
  proxy: '#dd6b20',
  full: '#2f855a',
  gunicorn: '#805ad5',
  'nginx-gunicorn': '#b83280',
};
const PALETTE = ['#2b6cb0', '#dd6b20', '#2f855a', '#805ad5', '#b83280', '#4a5568', '#c05621'];

export function colour(name: string, i: number): string {
  return COLOURS[name] ?? PALETTE[i % PALETTE.length]!;
}

export function escapeXml(text: string): string {
  return text.replace(
    /[<>&"']/g,
    (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c] ?? c,
  );
}

/** A compact number: 3 significant digits, thousands without decimals. */
export function fmt(v: number): string {
  if (!Number.isFinite(v)) return '–';
  const a = Math.abs(v);
  if (a >= 1000) return Math.round(v).toLocaleString('en-US');
  if (a >= 100) return v.toFixed(0);
  if (a >= 10) return v.toFixed(1);
  if (a >= 1) return v.toFixed(2);
  if (a === 0) return '0';
  return v.toPrecision(2);
}

/** A "nice" axis maximum (1, 2, 2.5, 5 × 10^n) at or above v. */
export function niceMax(v: number): number {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

type Attrs = Record<string, string | number>;

/** An SVG element: its attributes in the order given, self-closing without a body. */
function tag(name: string, attrs: Attrs, body?: string): string {
  const a = Object.entries(attrs)
    .map(([k, v]) => ` ${k}="${v}"`)
    .join('');
  return body === undefined ? `<${name}${a}/>` : `<${name}${a}>${body}</${name}>`;
}

const W = 760;
const H = 380;
const LEFT = 70;
const RIGHT = 16;
const LEGEND_H = 28;
const FONT = 'system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif';

/** Where things go on the canvas: the plot area, the value scale and the bar widths. */
interface Layout {
  top: number;
  plotH: number;
  max: number;
  y: (v: number) => number;
  groupW: number;
  barW: number;
  n: number;
}

function layout(c: BarChart): Layout {
  const top = c.subtitle ? 64 : 48;
  const plotW = W - LEFT - RIGHT;
  const plotH = H - top - (48 + LEGEND_H);
  const all = c.series.flatMap((s) => s.values).filter((v): v is number => v !== null && Number.isFinite(v));
  const max = niceMax(Math.max(0, ...all));
  const groupW = plotW / Math.max(1, c.groups.length);
  const n = Math.max(1, c.series.length);
  return {
    top,
    plotH,
    max,
    y: (v) => top + plotH - (v / max) * plotH,
    groupW,
    barW: Math.min(48, (groupW * 0.8) / n),
    n,
  };
}

function header(c: BarChart): string[] {
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="${FONT}" font-size="12">`,
    `<title>${escapeXml(c.title)}</title>`,
    tag('rect', { width: W, height: H, fill: '#ffffff' }),
    tag('text', { x: W / 2, y: 24, 'text-anchor': 'middle', 'font-size': 16, 'font-weight': 600 }, escapeXml(c.title)),
  ];
  if (c.subtitle)
    out.push(tag('text', { x: W / 2, y: 44, 'text-anchor': 'middle', fill: '#4a5568' }, escapeXml(c.subtitle)));
  return out;
}

/** Grid and y axis: 5 ticks, and the unit along the axis. */
function yAxis(c: BarChart, l: Layout): string[] {
  const out: string[] = [];
  for (let i = 0; i <= 5; i++) {
    const v = (l.max * i) / 5;
    const at = l.y(v).toFixed(1);
    out.push(tag('line', { x1: LEFT, x2: W - RIGHT, y1: at, y2: at, stroke: i === 0 ? '#2d3748' : '#e2e8f0' }));
    const label = { x: LEFT - 6, y: (l.y(v) + 4).toFixed(1), 'text-anchor': 'end', fill: '#4a5568' };
    out.push(tag('text', label, fmt(v)));
  }
  const mid = l.top + l.plotH / 2;
  const unit = { x: 16, y: mid, transform: `rotate(-90 16 ${mid})`, 'text-anchor': 'middle', fill: '#2d3748' };
  out.push(tag('text', unit, escapeXml(c.unit)));
  return out;
}

/** One bar with its value above it, or "n/a" on the axis where the value is missing. */
function bar(c: BarChart, l: Layout, g: string, gi: number, si: number, x: number): string[] {
  const s = c.series[si]!;
  const v = s.values[gi];
  const cx = (x + l.barW / 2).toFixed(1);
  const base = l.top + l.plotH;
  if (v === null || v === undefined || !Number.isFinite(v)) {
    const na = { x: cx, y: (base - 4).toFixed(1), 'text-anchor': 'middle', fill: '#a0aec0', 'font-size': 10 };
    return [tag('text', na, 'n/a')];
  }
  const h = Math.max(0.5, base - l.y(v));
  const rect = {
    class: 'bar',
    'data-series': escapeXml(s.name),
    'data-group': escapeXml(g),
    'data-value': v,
    x: (x + 1).toFixed(1),
    y: (base - h).toFixed(1),
    width: (l.barW - 2).toFixed(1),
    height: h.toFixed(1),
    fill: colour(s.name, si),
  };
  const value = { x: cx, y: (base - h - 4).toFixed(1), 'text-anchor': 'middle', 'font-size': l.barW < 30 ? 9 : 11 };
  return [
    tag('rect', rect, `<title>${escapeXml(`${s.name}, ${g}: ${fmt(v)} ${c.unit}`)}</title>`),
    tag('text', { ...value, fill: '#1a202c' }, fmt(v)),
  ];
}

function bars(c: BarChart, l: Layout): string[] {
  return c.groups.flatMap((g, gi) => {
    const gx = LEFT + gi * l.groupW;
    const x0 = gx + (l.groupW - l.barW * l.n) / 2;
    const label = {
      x: (gx + l.groupW / 2).toFixed(1),
      y: l.top + l.plotH + 18,
      'text-anchor': 'middle',
      fill: '#2d3748',
    };
    return [...c.series.flatMap((_, si) => bar(c, l, g, gi, si, x0 + si * l.barW)), tag('text', label, escapeXml(g))];
  });
}

/** Legend, centred under the plot. */
function legend(c: BarChart): string[] {
  const itemW = 130;
  const lx = Math.max(LEFT, (W - itemW * c.series.length) / 2);
  const ly = H - LEGEND_H + 4;
  return c.series.flatMap((s, si) => {
    const x = lx + si * itemW;
    return [
      tag('rect', { x, y: ly, width: 12, height: 12, fill: colour(s.name, si) }),
      tag('text', { x: x + 18, y: ly + 10, fill: '#2d3748' }, escapeXml(s.name)),
    ];
  });
}

export function barChart(c: BarChart): string {
  const l = layout(c);
  return `${[...header(c), ...yAxis(c, l), ...bars(c, l), ...legend(c), '</svg>'].join('\n')}\n`;
}
