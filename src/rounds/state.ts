/**
 * The one composition of the bot's transactional state from the configuration: the round
 * store (PostgreSQL when DATABASE_URL is set, else SQLite at $DATA_DIR/state.sqlite), the
 * round leases that go with it, and the variant asset store. The bot, the learning loop and
 * the CLI all open state here, so they all see the same rounds and votes.
 *
 * Each driver is loaded only when chosen: a PostgreSQL deployment never loads better-sqlite3.
 */
import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import { assetsUri, type Config, dataPath } from '../config.ts';
import type { Logger } from '../log.ts';
import { s3Settings } from '../object-storage.ts';
import { type AssetStore, createFileAssetStore } from './assets.ts';
import { type RoundLeases, soleOwnerLeases, sqlLeases, startLeaseRenewal } from './leases.ts';
import type { SqlRoundStore } from './sql-store.ts';
import type { RoundStore } from './types.ts';

/** The settings that say where the variant assets live (ASSETS_URI and, for s3://, the AWS variables). */
export type AssetsConfig = Pick<
  Config,
  | 'dataDir'
  | 'assetsUri'
  | 's3Endpoint'
  | 'awsEndpoint'
  | 'awsRegion'
  | 'awsAccessKeyId'
  | 'awsSecretAccessKey'
  | 'awsSessionToken'
  | 's3ForcePathStyle'
>;

export type StateConfig = Pick<Config, 'dataDir' | 'databaseUrl' | 'replicaId' | 'roundLeaseSeconds'> & AssetsConfig;

export interface State {
  store: RoundStore;
  /** This replica's round ownership: shared leases in PostgreSQL, every claim granted with SQLite. */
  leases: RoundLeases;
  /** Each variant's images and embedding: a folder, or S3 (ASSETS_URI=s3://…) shared by every replica. */
  assets: AssetStore;
  /** Stops lease renewal and closes the store. */
  close(): Promise<void>;
}

export interface OpenStateOptions {
  logger?: Logger;
  /** Renew this replica's leases in the background (the bot; not a one-off CLI command). */
  renewLeases?: boolean;
  /** A store opened elsewhere (tests), used as it is with sole-owner leases. */
  store?: RoundStore;
  /** An asset store made elsewhere (tests); otherwise the configured one. */
  assets?: AssetStore & { close?(): void };
}

/** The configured asset store: ASSETS_URI (s3://bucket/prefix, through the AWS SDK, loaded only then, or a folder), else $DATA_DIR/variants. */
export async function openAssets(
  cfg: AssetsConfig,
  logger?: Logger,
): Promise<AssetStore & { location: string; ready(): Promise<void>; close?(): void }> {
  const uri = assetsUri(cfg);
  if (!uri.startsWith('s3://')) return createFileAssetStore(uri);
  const { createS3AssetStore } = await import('./s3-assets.ts');
  return createS3AssetStore({ uri, settings: s3Settings(cfg), logger });
}

/** This replica's name in leases and logs. */
export function replicaId(cfg: Pick<Config, 'replicaId'>): string {
  return cfg.replicaId || `${hostname()}-${process.pid}`;
}

/** The SQLite file used when DATABASE_URL is not set. */
export function sqlitePath(cfg: Pick<Config, 'dataDir'>): string {
  return dataPath(cfg, 'state.sqlite');
}

/** Whether there is state to read without creating it: always with PostgreSQL, with SQLite once its file exists. */
export function stateExists(cfg: StateConfig): boolean {
  return Boolean(cfg.databaseUrl) || existsSync(sqlitePath(cfg));
}

async function openStore(cfg: StateConfig): Promise<SqlRoundStore> {
  if (cfg.databaseUrl) return (await import('./postgres.ts')).openPostgresStore(cfg.databaseUrl);
  return (await import('./sqlite.ts')).openSqliteStore(sqlitePath(cfg));
}

export async function openState(cfg: StateConfig, opts: OpenStateOptions = {}): Promise<State> {
  const assets = opts.assets ?? (await openAssets(cfg, opts.logger));
  const owner = replicaId(cfg);
  const given = opts.store;
  const closing = (c: () => Promise<void>) => async () => {
    await c();
    assets.close?.();
  };
  if (given) return { store: given, leases: soleOwnerLeases(owner), assets, close: closing(() => given.close()) };

  const store = await openStore(cfg);
  if (!store.db.dialect.shared) return { store, leases: soleOwnerLeases(owner), assets, close: closing(() => store.close()) };

  const ttl = cfg.roundLeaseSeconds * 1000;
  const leases = sqlLeases(store.db, owner, ttl);
  const renewal = opts.renewLeases ? startLeaseRenewal(leases, ttl, opts.logger) : undefined;
  opts.logger?.info('rounds state in PostgreSQL', { at: store.db.where, replica: owner, leaseSeconds: cfg.roundLeaseSeconds });
  return {
    store,
    leases,
    assets,
    close: closing(async () => {
      renewal?.stop();
      await store.close();
    }),
  };
}
