// How report values read: escaped text, numbers to a fixed precision, budgets as k/255.

/** HTML-escapes any value (records are data; a test name may hold markup). */
export const esc = (s: unknown) => String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/** A number for a table cell; anything else from a hand-edited or damaged report shows as text. */
export function num(v: unknown, digits = 3): string {
  if (typeof v !== 'number') return String(v === null ? 'null' : v);
  return Number.isInteger(v) ? String(v) : Number.isFinite(v) ? v.toFixed(digits) : String(v);
}

/**
 * A pixel budget as 'k/255' when it is one (8/255 reads as the literature writes it, not
 * 0.03137254901960784), else the number to 4 significant digits.
 */
export function budget(v: number): string {
  const k = v * 255;
  if (v > 0 && Math.abs(k - Math.round(k)) < 1e-6 * Math.max(1, k)) return `${Math.round(k)}/255`;
  return String(Number(v.toPrecision(4)));
}

/** Parameter names that are Linf pixel budgets or steps, shown as k/255. */
const PIXEL_KEYS = /^(eps|epsStep|stepSize|eps_step|alpha)$/;

/** One parameter value as text: budgets as k/255, arrays and objects spelt out, never '[object Object]'. */
export function paramValue(key: string, v: unknown): string {
  if (typeof v === 'number') return PIXEL_KEYS.test(key) ? budget(v) : String(Number(v.toPrecision(4)));
  if (Array.isArray(v)) return `[${v.map((x) => paramValue(key, x)).join(', ')}]`;
  if (v && typeof v === 'object') return `{ ${Object.entries(v).map(([k, x]) => `${k}: ${paramValue(k, x)}`).join(', ')} }`;
  return String(v);
}

/** A record's parameters as 'eps 8/255, steps 10, seed 1' (undefined values left out). */
export function paramsLine(params: unknown): string {
  if (!params || typeof params !== 'object') return params === undefined ? '' : String(params);
  return Object.entries(params as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k} ${paramValue(k, v)}`)
    .join(', ');
}
