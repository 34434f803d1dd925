// The `robustness` command. Each subcommand lives in its own module exporting
// `run(args: string[]): Promise<number>` (the exit code) and `usage: string`.
interface Command {
  summary: string;
  load: () => Promise<{ run(args: string[]): Promise<number>; usage: string }>;
}

export const COMMANDS: Record<string, Command> = {
  data: { summary: 'fetch CIFAR-10 into the cache, or decode an image folder once', load: () => import('./data.js') },
  eval: { summary: 'clean and robust accuracy of a saved model under an attack, as a table', load: () => import('./eval.js') },
  gate: { summary: 'fail (exit 1) when the last run breached a release threshold', load: () => import('./gate.js') },
  merge: { summary: 'combine the report files of `vitest --shard=i/n` runs into one report', load: () => import('./merge.js') },
  report: { summary: 'rebuild reports/index.html from reports/robustness.json (and screenshot it)', load: () => import('./report.js') },
};

function help(): string {
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(9)} ${c.summary}`);
  return ['usage: robustness <command> [options]', '', 'commands:', ...lines, '', 'robustness <command> --help for its options.'].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h') {
    console.log(help());
    return name ? 0 : 2;
  }
  const cmd = COMMANDS[name];
  if (!cmd) {
    console.error(`robustness: unknown command '${name}'. Known: ${Object.keys(COMMANDS).join(', ')}.`);
    return 2;
  }
  const mod = await cmd.load();
  if (rest.includes('--help') || rest.includes('-h')) {
    console.log(mod.usage);
    return 0;
  }
  return mod.run(rest);
}

