import { existsSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

/** The system Chromium (Debian's package); playwright-core downloads no browser of its own. */
export function chromiumPath(): string | undefined {
  for (const p of [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome']) if (p && existsSync(p)) return p;
  return undefined;
}

export interface PageCheck {
  tables: number;
  rows: number;
  images: number;
  brokenImages: number;
}

/**
 * Opens a report in headless Chromium, counts its tables, rows and images (and images that did
 * not decode), and saves a screenshot (the full page, or with `fullPage: false` the first screen). Needs Chromium: `apt-get install chromium`.
 */
export async function screenshotReport(htmlPath: string, pngPath: string, options: { fullPage?: boolean } = {}): Promise<PageCheck> {
  const executablePath = chromiumPath();
  if (!executablePath) throw new Error('No Chromium found for the report screenshot. Install it (Debian: apt-get install chromium) or set CHROMIUM_PATH.');
  let chromium: typeof import('playwright-core').chromium;
  try {
    ({ chromium } = await import('playwright-core'));
  } catch {
    throw new Error('Report screenshots need playwright-core (it drives the system Chromium and downloads no browser): npm install -D playwright-core.');
  }
  const browser = await chromium.launch({
    executablePath,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await page.goto(pathToFileURL(htmlPath).href);
    // Runs in the page; a string keeps DOM types out of this Node build.
    const check = (await page.evaluate(`({
      tables: document.querySelectorAll('table').length,
      rows: document.querySelectorAll('#checks tbody tr').length,
      images: document.images.length,
      brokenImages: [...document.images].filter((i) => !i.complete || i.naturalWidth === 0).length,
    })`)) as PageCheck;
    await page.screenshot({ path: pngPath, fullPage: options.fullPage ?? true });
    return check;
  } finally {
    await browser.close();
  }
}
