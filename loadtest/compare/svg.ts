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

export function barChart(c: BarChart): string {
  const W = 760;
  const H = 380;
  const top = c.subtitle ? 64 : 48;
  const left = 70;
  const right = 16;
  const legendH = 28;
  const bottom = 48 + legendH;
  const plotW = W - left - right;
  const plotH = H - top - bottom;
  const all = c.series.flatMap((s) => s.values).filter((v): v is number => v !== null && Number.isFinite(v));
  const max = niceMax(Math.max(0, ...all));
  const y = (v: number) => top + plotH - (v / max) * plotH;
  const groupW = plotW / Math.max(1, c.groups.length);
  const n = Math.max(1, c.series.length);
  const barW = Math.min(48, (groupW * 0.8) / n);
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif" font-size="12">`,
  );
  out.push(`<title>${escapeXml(c.title)}</title>`);
  out.push(`<rect width="${W}" height="${H}" fill="#ffffff"/>`);
  out.push(
    `<text x="${W / 2}" y="24" text-anchor="middle" font-size="16" font-weight="600">${escapeXml(c.title)}</text>`,
  );
  if (c.subtitle)
    out.push(`<text x="${W / 2}" y="44" text-anchor="middle" fill="#4a5568">${escapeXml(c.subtitle)}</text>`);
  // Grid and y axis: 5 ticks.
  for (let i = 0; i <= 5; i++) {
    const v = (max * i) / 5;
    out.push(
      `<line x1="${left}" x2="${W - right}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}" stroke="${i === 0 ? '#2d3748' : '#e2e8f0'}"/>`,
    );
    out.push(`<text x="${left - 6}" y="${(y(v) + 4).toFixed(1)}" text-anchor="end" fill="#4a5568">${fmt(v)}</text>`);
  }
  out.push(
    `<text x="16" y="${top + plotH / 2}" transform="rotate(-90 16 ${top + plotH / 2})" text-anchor="middle" fill="#2d3748">${escapeXml(c.unit)}</text>`,
  );
  c.groups.forEach((g, gi) => {
    const gx = left + gi * groupW;
    const x0 = gx + (groupW - barW * n) / 2;
    c.series.forEach((s, si) => {
      const v = s.values[gi];
      const x = x0 + si * barW;
      if (v === null || v === undefined || !Number.isFinite(v)) {
        out.push(
          `<text x="${(x + barW / 2).toFixed(1)}" y="${(top + plotH - 4).toFixed(1)}" text-anchor="middle" fill="#a0aec0" font-size="10">n/a</text>`,
        );
        return;
      }
      const h = Math.max(0.5, top + plotH - y(v));
      out.push(
        `<rect class="bar" data-series="${escapeXml(s.name)}" data-group="${escapeXml(g)}" data-value="${v}" x="${(x + 1).toFixed(1)}" y="${(top + plotH - h).toFixed(1)}" width="${(barW - 2).toFixed(1)}" height="${h.toFixed(1)}" fill="${colour(s.name, si)}"><title>${escapeXml(`${s.name}, ${g}: ${fmt(v)} ${c.unit}`)}</title></rect>`,
      );
      out.push(
        `<text x="${(x + barW / 2).toFixed(1)}" y="${(top + plotH - h - 4).toFixed(1)}" text-anchor="middle" font-size="${barW < 30 ? 9 : 11}" fill="#1a202c">${fmt(v)}</text>`,
      );
    });
    out.push(
      `<text x="${(gx + groupW / 2).toFixed(1)}" y="${top + plotH + 18}" text-anchor="middle" fill="#2d3748">${escapeXml(g)}</text>`,
    );
  });
  // Legend, centred under the plot.
  const itemW = 130;
  const lx = Math.max(left, (W - itemW * c.series.length) / 2);
  c.series.forEach((s, si) => {
    const x = lx + si * itemW;
    const ly = H - legendH + 4;
    out.push(`<rect x="${x}" y="${ly}" width="12" height="12" fill="${colour(s.name, si)}"/>`);
    out.push(`<text x="${x + 18}" y="${ly + 10}" fill="#2d3748">${escapeXml(s.name)}</text>`);
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
