import { parseFlags, trainingStatus, UsageError } from 'vitest-robustness';

export const usage = `usage: npm run workbench -- finished DIR

Exits 0 when DIR holds a finished model (a card with a clean accuracy, no optimizer state left
for a resume), 1 when it does not, saying why on stderr. train-fixtures.sh asks it which recipes
are done.`;

export async function run(args: string[]): Promise<number> {
  const { positionals } = parseFlags('npm run workbench -- finished', { args, options: {}, allowPositionals: true });
  if (positionals.length !== 1) throw new UsageError(`give one model folder; got ${positionals.length}. See \`npm run workbench -- finished --help\`.`);
  const dir = positionals[0]!;
  const status = trainingStatus(dir);
  if (!status.finished) console.error(`${dir} ${status.why}`);
  return status.finished ? 0 : 1;
}
