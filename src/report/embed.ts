import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { reportDir } from '../record/reportDir.js';

const inside = (p: string, dir: string) => {
  const r = relative(dir, p);
  // '..x.png' is a file inside; only '..' as a whole first segment leads out.
  return r !== '' && r !== '..' && !r.startsWith(`..${sep}`) && !isAbsolute(r);
};

export type Embedded = { ok: true; uri: string; width: number; height: number } | { ok: false; why: string };

/**
 * A saved image as a data: URI, only when it is a PNG inside the report folder (reports/ unless
 * ROBUSTNESS_REPORT_DIR says otherwise), after following links: a record is data, and a path in
 * it ("../../.ssh/id_rsa", "/etc/passwd") must not pull other files into a page that is shared as
 * a CI artefact.
 */
export function embedPng(path: unknown, root: string): Embedded {
  if (typeof path !== 'string') return { ok: false, why: `${String(path)} is not a path` };
  const reports = reportDir(root);
  const abs = resolve(root, path);
  if (!inside(abs, reports) || !abs.toLowerCase().endsWith('.png')) return { ok: false, why: `${path} is not embedded: only PNG files under reports/ are.` };
  if (!existsSync(abs)) return { ok: false, why: `${path} is missing (was reports/ copied with the report?)` };
  const real = realpathSync(abs);
  if (!inside(real, realpathSync(reports))) return { ok: false, why: `${path} is not embedded: it links outside reports/.` };
  const bytes = readFileSync(real);
  // The PNG header's IHDR chunk holds the size, for enlarging and cropping panels.
  if (bytes.length < 24 || bytes.toString('latin1', 1, 4) !== 'PNG') return { ok: false, why: `${path} is not a PNG file` };
  return { ok: true, uri: `data:image/png;base64,${bytes.toString('base64')}`, width: bytes.readUInt32BE(16), height: bytes.readUInt32BE(20) };
}
