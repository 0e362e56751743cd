/**
 * Object-storage settings shared by the two things that can live on S3: the creative library
 * (LanceDB, whose Rust object store takes "storage options") and the variant assets (the AWS SDK,
 * in rounds/s3-assets.ts). Both read the same standard AWS variables, so one set of settings points
 * both at AWS S3 or at an S3-compatible server such as MinIO. No SDK here: pure mapping.
 */
import { type Config, libraryUri } from './config.ts';
import { ConfigError } from './errors.ts';

export interface S3Settings {
  /** Custom endpoint (MinIO…); unset: AWS S3. */
  endpoint?: string;
  region?: string;
  accessKeyId?: string;
  secretAccessKey?: string;
  sessionToken?: string;
  forcePathStyle: boolean;
}

export function s3Settings(
  cfg: Pick<
    Config,
    's3Endpoint' | 'awsEndpoint' | 'awsRegion' | 'awsAccessKeyId' | 'awsSecretAccessKey' | 'awsSessionToken' | 's3ForcePathStyle'
  >,
): S3Settings {
  // One without the other would silently fall back to another identity from the default chain.
  if (!cfg.awsAccessKeyId !== !cfg.awsSecretAccessKey)
    throw new ConfigError(
      'AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set together (or both left unset for the default credential chain)',
    );
  const endpoint = cfg.s3Endpoint || cfg.awsEndpoint || undefined;
  return {
    endpoint,
    // S3-compatible servers mostly ignore the region but it is part of every signature; us-east-1 is their usual default.
    region: cfg.awsRegion?.trim() || (endpoint ? 'us-east-1' : undefined),
    accessKeyId: cfg.awsAccessKeyId,
    secretAccessKey: cfg.awsSecretAccessKey,
    sessionToken: cfg.awsSessionToken,
    forcePathStyle: cfg.s3ForcePathStyle,
  };
}

/** Bucket and key prefix of an s3:// URI (the prefix without leading or trailing slashes). */
export function parseS3Uri(uri: string): { bucket: string; prefix: string } {
  const m = /^s3:\/\/([^/?#]+)\/?([^?#]*)$/.exec(uri.trim());
  // Bucket naming rules (Amazon S3 user guide): 3–63 lower-case letters, digits, dots and hyphens.
  if (!m || !/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(m[1]))
    throw new ConfigError(`${JSON.stringify(uri)} is not an s3://bucket/prefix URI with a valid bucket name`);
  return { bucket: m[1], prefix: m[2].replace(/^\/+|\/+$/g, '') };
}

/** LanceDB reaches S3 for these schemes; its commit store differs (conditional PUT vs DynamoDB). */
const isS3Uri = (uri: string) => /^s3(\+ddb)?:\/\//.test(uri);

/**
 * LanceDB storage options for a library URI (LanceDB's "Configuring storage" page: aws_endpoint,
 * aws_region, aws_access_key_id, aws_secret_access_key, aws_session_token, allow_http,
 * aws_virtual_hosted_style_request). Empty for folders and non-S3 URIs, which need none.
 */
export function lanceStorageOptions(uri: string, s: S3Settings): Record<string, string> {
  if (!isS3Uri(uri)) return {};
  const o: Record<string, string> = {};
  if (s.endpoint) {
    // object_store (LanceDB's S3 client) wants a virtual-hosted endpoint to name the bucket already,
    // where the AWS SDK adds it itself: the same setting, spelled for each.
    const u = new URL(s.endpoint);
    if (!s.forcePathStyle) u.hostname = `${new URL(uri.replace(/^s3\+ddb:/, 's3:')).hostname}.${u.hostname}`;
    o.aws_endpoint = s.forcePathStyle ? s.endpoint : u.toString().replace(/\/$/, '');
    if (s.endpoint.startsWith('http://')) o.allow_http = 'true';
  }
  if (s.region) o.aws_region = s.region;
  if (s.accessKeyId && s.secretAccessKey) {
    o.aws_access_key_id = s.accessKeyId;
    o.aws_secret_access_key = s.secretAccessKey;
    if (s.sessionToken) o.aws_session_token = s.sessionToken;
  }
  // Both SDKs agree on the addressing style, whichever default each would pick.
  o.aws_virtual_hosted_style_request = s.forcePathStyle ? 'false' : 'true';
  return o;
}

/**
 * Where something lives, for logs, `library stats` and /readyz: the URI without any user info or
 * query secrets, and for S3 the endpoint and addressing style. Never credentials.
 */
export function describeLocation(uri: string, s?: S3Settings): string {
  const safe = uri
    .replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/@]*@/i, '$1')
    .replace(/([?&][^=&]*(?:key|secret|token|password)[^=&]*=)[^&]*/gi, '$1[redacted]');
  if (!isS3Uri(uri) || !s) return safe;
  const where = s.endpoint ? s.endpoint.replace(/^([a-z]+:\/\/)[^/@]*@/i, '$1') : 'AWS S3';
  return `${safe} (${where}${s.region ? `, ${s.region}` : ''}, ${s.forcePathStyle ? 'path-style' : 'virtual-hosted style'})`;
}

/** The LanceDB storage options for the configured library (empty for a folder). */
export function libraryStorageOptions(cfg: Config): Record<string, string> {
  return lanceStorageOptions(libraryUri(cfg), s3Settings(cfg));
}
