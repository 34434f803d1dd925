// The paper workbench's command line: training the fixture models (fixtures/models/) that the
// paper specs measure. Run with `npm run workbench -- <command> [options]` (tsx, no build). It uses
// the library only through its public entry, as any user's script would; the library's own
// command (`robustness`: eval, gate, report, data, merge) knows nothing of it.
import { fileURLToPath } from 'node:url';
import { commandLineOf, type Command } from 'vitest-robustness';

export const COMMANDS: Record<string, Command> = {
  'adv-train': { summary: 'adversarial training: retrain a copy of a model on adversarial images made from it', load: () => import('./cli/advtrain.js') },
  compact: { summary: 'store a finished model\'s weights as float16 (half the size) and measure its accuracy again', load: () => import('./cli/compact.js') },
  finished: { summary: 'exit 0 when the model folder holds a finished model, 1 (saying why) when not', load: () => import('./cli/finished.js') },
  models: { summary: 'list trained models and their cards as a table (fixtures/models/README.md)', load: () => import('./cli/models.js') },
  train: { summary: 'train a model (ResNet, MobileNet, VGG16, the Fig. 1 CNN) with checkpoints and resume', load: () => import('./cli/train.js') },
};

export const main = commandLineOf('npm run workbench --', COMMANDS);

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  try {
    process.exitCode = await main(process.argv.slice(2));
  } catch (err) {
    console.error(`workbench: ${err instanceof Error ? err.message : String(err)}`);
    // A usage error (unknown flag, bad value) carries exit code 2; anything else that went wrong is 1.
    const code = err && typeof err === 'object' ? (err as { exitCode?: unknown }).exitCode : undefined;
    process.exitCode = typeof code === 'number' && Number.isInteger(code) && code > 0 ? code : 1;
  }
}
