// The `robustness` command. Each subcommand lives in its own module exporting
// `run(args: string[]): Promise<number>` (the exit code) and `usage: string`.

/** A subcommand: its one-line summary and its module, loaded when it runs. */
export interface Command {
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

/**
 * A command line of subcommands, as `robustness` is: `program <command> [options]`, `--help` on
 * the program or on a command, exit code 2 for an unknown command. Returns its main function.
 *
 * @param program - how the program is called, for help and messages (e.g. 'robustness')
 */
export function commandLineOf(program: string, commands: Readonly<Record<string, Command>>): (argv: string[]) => Promise<number> {
  const help = () => {
    const lines = Object.entries(commands).map(([name, c]) => `  ${name.padEnd(9)} ${c.summary}`);
    return [`usage: ${program} <command> [options]`, '', 'commands:', ...lines, '', `${program} <command> --help for its options.`].join('\n');
  };
  return async (argv) => {
    const [name, ...rest] = argv;
    if (!name || name === '--help' || name === '-h') {
      console.log(help());
      return name ? 0 : 2;
    }
    const cmd = commands[name];
    if (!cmd) {
      console.error(`${program}: unknown command '${name}'. Known: ${Object.keys(commands).join(', ')}.`);
      return 2;
    }
    const mod = await cmd.load();
    if (rest.includes('--help') || rest.includes('-h')) {
      console.log(mod.usage);
      return 0;
    }
    return mod.run(rest);
  };
}

export const main = commandLineOf('robustness', COMMANDS);
