import { describe, expect, it } from 'vitest';
import { assetsUri, loadConfig } from '../../src/config.ts';
import { describeLocation, lanceStorageOptions, libraryStorageOptions, parseS3Uri, s3Settings } from '../../src/object-storage.ts';

const minio = {
  LANCEDB_URI: 's3://team/library',
  AWS_ENDPOINT_URL_S3: 'http://minio:9000',
  AWS_ACCESS_KEY_ID: 'minio-user',
  AWS_SECRET_ACCESS_KEY: 'minio-secret-value',
  S3_FORCE_PATH_STYLE: 'true',
};

describe('object storage settings', () => {
  it('maps the AWS variables to the LanceDB storage options a MinIO-like store needs', () => {
    expect(libraryStorageOptions(loadConfig(minio))).toEqual({
      aws_endpoint: 'http://minio:9000',
      allow_http: 'true',
      aws_region: 'us-east-1',
      aws_access_key_id: 'minio-user',
      aws_secret_access_key: 'minio-secret-value',
      aws_virtual_hosted_style_request: 'false',
    });
    // AWS itself: no endpoint, no http, virtual-hosted, region left to LanceDB's bucket lookup, the default credential chain.
    expect(libraryStorageOptions(loadConfig({ LANCEDB_URI: 's3+ddb://b/lib?ddbTableName=commits' }))).toEqual({
      aws_virtual_hosted_style_request: 'true',
    });
    // A folder, or LanceDB Cloud: nothing to add.
    expect(libraryStorageOptions(loadConfig({ ...minio, LANCEDB_URI: '' }))).toEqual({});
    expect(lanceStorageOptions('db://my-project', s3Settings(loadConfig(minio)))).toEqual({});
    // Virtual-hosted with a custom endpoint: LanceDB's client wants the bucket in the endpoint already.
    expect(libraryStorageOptions(loadConfig({ ...minio, S3_FORCE_PATH_STYLE: 'false' })).aws_endpoint).toBe('http://team.minio:9000');
    // The S3-specific endpoint wins over the general one.
    expect(s3Settings(loadConfig({ AWS_ENDPOINT_URL: 'https://a.example', AWS_ENDPOINT_URL_S3: 'https://b.example' })).endpoint).toBe(
      'https://b.example',
    );
  });

  it('says where things live without credentials', () => {
    const s = s3Settings(loadConfig(minio));
    expect(describeLocation('s3://team/library', s)).toBe('s3://team/library (http://minio:9000, us-east-1, path-style)');
    const shown = describeLocation('s3://user:pass@team/lib?ddbTableName=t&secret_key=zzz', s);
    expect(shown).not.toMatch(/pass|zzz|minio-secret-value/);
    expect(describeLocation('/srv/data/lancedb')).toBe('/srv/data/lancedb');
  });

  it('refuses half-set credentials and malformed s3:// URIs with the variable named', () => {
    expect(() => s3Settings(loadConfig({ AWS_ACCESS_KEY_ID: 'only-the-id' }))).toThrow(
      /AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set together/,
    );
    expect(() => loadConfig({ ASSETS_URI: 's3://Bad_Bucket/x' })).toThrow(/ASSETS_URI must be a folder or s3:\/\/bucket\/prefix/);
    expect(() => loadConfig({ ASSETS_URI: 'gs://bucket/x' })).toThrow(/ASSETS_URI/);
    expect(() => loadConfig({ AWS_ENDPOINT_URL_S3: 'minio:9000' })).toThrow(/AWS_ENDPOINT_URL_S3 must be an http\(s\) URL/);
    expect(parseS3Uri('s3://bucket/a/b/')).toEqual({ bucket: 'bucket', prefix: 'a/b' });
    expect(() => parseS3Uri('s3://x')).toThrow(/not an s3:\/\/bucket\/prefix URI/);
  });

  it('puts assets under DATA_DIR unless ASSETS_URI says otherwise', () => {
    expect(assetsUri(loadConfig({ DATA_DIR: '/srv/d' }))).toBe('/srv/d/variants');
    expect(assetsUri(loadConfig({ DATA_DIR: '/srv/d', ASSETS_URI: 's3://team/variants' }))).toBe('s3://team/variants');
    expect(assetsUri(loadConfig({ DATA_DIR: '/srv/d', ASSETS_URI: '/mnt/shared/variants' }))).toBe('/mnt/shared/variants');
  });
});
