/**
 * Ctrl-C for the long commands (train, compare, predict): the first SIGINT asks the work to stop
 * at its next safe point (after the current step or batch) through an AbortSignal; a second one
 * exits at once with 130 (128 + SIGINT).
 *
 * @example
 * const stop = onInterrupt('step');
 * try { await trainJob(flags, onEvent, { signal: stop.signal }); } finally { stop.release(); }
 * if (stop.signal.aborted) process.exitCode = 130;
 */
export interface Interrupt {
  readonly signal: AbortSignal;
  /** Removes the handler; call it once the work is done. */
  release(): void;
}

/** `unit` names the safe point in the message; `before` runs first (a progress bar clears itself). */
export function onInterrupt(unit: 'step' | 'batch', before?: () => void): Interrupt {
  const stop = new AbortController();
  const handler = (): void => {
    if (stop.signal.aborted) process.exit(130);
    before?.();
    process.stderr.write(`quiver: interrupted, stopping after the current ${unit} (Ctrl-C again to quit now)\n`);
    stop.abort();
  };
  process.on('SIGINT', handler);
  return { signal: stop.signal, release: () => { process.off('SIGINT', handler); } };
}
