/**
 * node:util's parseArgs errors are terse and end with advice about `--` that does not fit a
 * subcommand; this names the command and points at --help instead.
 */
export function argError(command: string, err: unknown): Error {
  return new Error(`${(err as Error).message.replace(/\. To specify.*$/s, '')}. See \`robustness ${command} --help\`.`);
}
