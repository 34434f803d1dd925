/**
 * Ctrl-C / SIGTERM during training: the first asks the run to stop after the current batch (the
 * last completed epoch stays in `out`), the second quits at once. `release()` removes the handlers.
 */
export function stopOnSignals(out: string): { signal: AbortSignal; release: () => void } {
  const controller = new AbortController();
  const stop = (sig: string) => {
    if (controller.signal.aborted) process.exit(130);
    process.stderr.write(`\n${sig}: stopping after this batch; the last completed epoch stays in ${out}. Press again to quit at once.\n`);
    controller.abort();
  };
  const onInt = () => stop('SIGINT');
  const onTerm = () => stop('SIGTERM');
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  return {
    signal: controller.signal,
    release: () => {
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
    },
  };
}
