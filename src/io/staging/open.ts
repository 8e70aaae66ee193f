import { S3Client } from "@aws-sdk/client-s3";
import { ConfigError } from "../../core/errors.js";
import { stagingUriProblem } from "../../core/paths.js";
import { FileStagingStore } from "./file.js";
import { s3ClientConfig, S3StagingStore } from "./s3.js";
import type { StagingStore } from "./store.js";

/**
 * Opens the staging folder named by a `s3://` or `file://` URI ending with `/`. A path that could
 * leave its root (`..`, `.`, `//`) is refused here too: the configuration and the journal are
 * checked when read, and this holds for every other way a URI is made.
 */
export function openStaging(uri: string): StagingStore {
  if (!uri.startsWith("s3://") && !uri.startsWith("file://")) {
    throw new ConfigError(
      `archive.uri-root: staging URI ${JSON.stringify(uri)} must start with s3:// or file://`,
    );
  }
  const problem = stagingUriProblem(uri);
  if (problem !== undefined) throw new ConfigError(`staging URI ${JSON.stringify(uri)} ${problem}`);
  if (uri.startsWith("s3://")) return new S3StagingStore(uri, new S3Client(s3ClientConfig()));
  return new FileStagingStore(uri);
}
