/**
 * node:util's parseArgs errors are terse and end with advice about `--` that does not fit a
 * subcommand; this names the command and points at --help instead.
 */
export function argError(command: string, err: unknown): Error {
  return new Error(`${(err as Error).message.replace(/\. To specify.*$/s, '')}. See \`robustness ${command} --help\`.`);
}

/**
 * What an interrupted `robustness train` or `adv-train` tells the user: how many epochs are on
 * disk and how to go on. With none kept there is nothing to resume from, so it says to start over.
 */
export function interruptedMessage(epochsKept: number, out: string): string {
  return epochsKept > 0
    ? `interrupted: ${epochsKept} epoch(s) kept in ${out}; continue with --resume.`
    : `interrupted before the first epoch ended: nothing was saved in ${out}; run the same command again (without --resume) to start over.`;
}
