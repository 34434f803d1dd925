// Public names of src/cli, re-exported by src/index.ts: the flag parsing and output-folder checks
// the `robustness` commands use, for scripts and command-line tools built on the library (the
// paper workbench's training commands use them).
export { parseFlags, numberFlag, RULES, UsageError, interruptedMessage } from './args.js';
export type { NumberRule } from './args.js';
export { checkOutFolder, sameAsCard } from './outFolder.js';
export { commandLineOf } from './main.js';
export type { Command } from './main.js';
