import { S3Client } from "@aws-sdk/client-s3";
import { ConfigError } from "../../core/errors.js";
import { FileStagingStore } from "./file.js";
import { s3ClientConfig, S3StagingStore } from "./s3.js";
import type { StagingStore } from "./store.js";

/** Opens the staging folder named by a `s3://` or `file://` URI ending with `/`. */
export function openStaging(uri: string): StagingStore {
  if (uri.startsWith("s3://")) {
    return new S3StagingStore(uri, new S3Client(s3ClientConfig()));
  }
  if (uri.startsWith("file://")) return new FileStagingStore(uri);
  throw new ConfigError(
    `archive.uri-root: staging URI ${JSON.stringify(uri)} must start with s3:// or file://`,
  );
}
