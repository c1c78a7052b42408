// Where an S3 artifact store lives (`FLT_ARTIFACT_ROOT=s3://bucket/prefix`): read without loading the S3 client, so
// only a process that uses the bucket pays for it.
import { ApplicationFailure } from '@temporalio/common';
import { InvalidConfig } from '../core/errors';

export interface S3Root {
  bucket: string;
  /** Empty, or ending in "/". */
  prefix: string;
}

const bucketPattern = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const prefixPattern = /^[A-Za-z0-9_.=-]+(\/[A-Za-z0-9_.=-]+)*$/;

/** The bucket and prefix of an `s3://` root; null for any other root (a local folder). */
export function parseS3Root(root: string | undefined): S3Root | null {
  if (!root?.startsWith('s3://')) return null;
  const [bucket, ...rest] = root.slice('s3://'.length).split('/');
  const prefix = rest.filter((part) => part !== '').join('/');
  if (!bucketPattern.test(bucket) || (prefix !== '' && !prefixPattern.test(prefix)))
    throw ApplicationFailure.nonRetryable(
      `FLT_ARTIFACT_ROOT ${JSON.stringify(root)}: expected s3://<bucket>/<prefix>, the bucket 3 to 63 lowercase ` +
        'letters, digits, "." or "-", the prefix slash-separated parts of letters, digits, "_", ".", "=" or "-".',
      InvalidConfig,
    );
  return { bucket, prefix: prefix ? `${prefix}/` : '' };
}
