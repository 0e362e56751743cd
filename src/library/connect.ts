/**
 * Every LanceDB connection the library opens goes through here, so a library on object storage
 * (s3://, s3+ddb://) gets its endpoint, region, credentials and addressing style wherever it is
 * opened. Callers that hold a configuration pass its options; the rest get the process's.
 */
import * as lancedb from '@lancedb/lancedb';
import { config } from '../config.ts';
import { lanceStorageOptions, s3Settings } from '../object-storage.ts';

export async function connectLance(
  uri: string,
  opts: { storageOptions?: Record<string, string>; readConsistencyInterval?: number } = {},
): Promise<lancedb.Connection> {
  const storageOptions = opts.storageOptions ?? (/^s3/.test(uri) ? lanceStorageOptions(uri, s3Settings(config())) : {});
  return lancedb.connect(uri, {
    storageOptions,
    ...(opts.readConsistencyInterval === undefined ? {} : { readConsistencyInterval: opts.readConsistencyInterval }),
  });
}
