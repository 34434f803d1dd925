#!/usr/bin/env node
// The compiled CLI lives in dist/ (built by `npm install` through the prepare script, or `npm run build`).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const main = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(fileURLToPath(main))) {
  console.error('robustness: dist/cli/main.js is missing. Run `npm run build` (or `npm install`, which builds it) first.');
  process.exit(2);
}
const { main: run } = await import(main.href);
try {
  process.exitCode = await run(process.argv.slice(2));
} catch (err) {
  console.error(`robustness: ${err instanceof Error ? err.message : String(err)}`);
  // A usage error (unknown flag, bad value) carries exit code 2; anything else that went wrong is 1.
  const code = err && typeof err === 'object' ? err.exitCode : undefined;
  process.exitCode = Number.isInteger(code) && code > 0 ? code : 1;
}
