/**
 * Round ownership between replicas. A replica that starts generating a round (or runs its
 * timers) holds a lease on it and renews it while it lives; when the owner dies its leases
 * expire and another replica claims the round and finishes what was left (fails a round cut
 * off mid-generation with a message in the thread, closes a round whose time is up).
 *
 * With a single process (SQLite) there is nobody to compete with: `soleOwnerLeases` grants
 * every claim.
 */
import type { Logger } from '../log.ts';

export interface RoundLeases {
  /** This replica's id as written into leases. */
  readonly owner: string;
  /** Takes the round if it is free, already ours, or its owner's lease expired. */
  claim(roundId: string): Promise<boolean>;
  /** Extends every lease this replica holds; returns how many. */
  renewAll(): Promise<number>;
  release(roundId: string): Promise<void>;
  /** Of these rounds, the ones nobody holds a live lease on. */
  unowned(roundIds: string[]): Promise<string[]>;
}

export function soleOwnerLeases(owner = 'local'): RoundLeases {
  return {
    owner,
    claim: async () => true,
    renewAll: async () => 0,
    release: async () => {},
    unowned: async () => [],
  };
}

/** Renews this replica's leases every third of their lifetime until stopped. */
export function startLeaseRenewal(leases: RoundLeases, ttlMs: number, logger?: Logger): { stop(): void } {
  const timer = setInterval(
    () => {
      leases.renewAll().catch((e: unknown) => logger?.warn('round lease renewal failed', { error: e, owner: leases.owner }));
    },
    Math.max(500, Math.floor(ttlMs / 3)),
  );
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
