/**
 * A long-running server (the bot, serve-clip) must not die of one rejected promise that nobody
 * awaited: a library's bug on one request (Bolt's receiver on a malformed body), a fire-and-forget
 * call. Node's default ends the process; here it is logged with what failed and the server keeps
 * serving. Uncaught exceptions are left to Node: they may leave state half-changed.
 */
import type { Logger } from '../log.ts';

/** Installs the guard (once per process, however many servers ask); returns its removal. */
export function guardUnhandledRejections(logger: Logger): () => void {
  const onRejection = (reason: unknown) => {
    logger.error('unhandled promise rejection (kept serving)', {
      error: reason instanceof Error ? reason : String(reason),
      stack: reason instanceof Error ? reason.stack?.split('\n').slice(1, 4).join(' | ') : undefined,
    });
  };
  process.on('unhandledRejection', onRejection);
  return () => {
    process.off('unhandledRejection', onRejection);
  };
}
