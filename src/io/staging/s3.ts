import {
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  S3Client,
  type S3ClientConfig,
} from "@aws-sdk/client-s3";
import type { Readable } from "node:stream";
import { RuntimeError } from "../../core/errors.js";
import { EXPIRED_CREDENTIALS } from "../../core/transient.js";
import { uploadStream } from "./s3-upload.js";
import type { StagedObject, StagingStore } from "./store.js";

/**
 * The client honours the SDK's default credential chain and region. `AWS_ENDPOINT_URL_S3` (or
 * `AWS_ENDPOINT_URL`) points it at any S3-compatible store; those usually want path-style
 * addressing and do not all accept the SDK's newer default request checksums.
 */
export function s3ClientConfig(env: NodeJS.ProcessEnv = process.env): S3ClientConfig {
  // The SDK warns on Node 20 that *future* releases will need Node 22; the locked version
  // supports Node 20, and the notice is for whoever upgrades the SDK (see README), not operators.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
  const endpoint = env.AWS_ENDPOINT_URL_S3 ?? env.AWS_ENDPOINT_URL;
  return {
    region: env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? "us-east-1",
    maxAttempts: 5, // the SDK's own backoff for throttling and 5xx, before the tenant-level retry
    // No request waits forever: a connection that does not open in 10 s, or a request whose
    // socket is silent for 2 minutes, fails (and is retried as above).
    requestHandler: { connectionTimeout: 10_000, requestTimeout: 120_000 },
    ...(endpoint
      ? {
          endpoint,
          forcePathStyle: true,
          requestChecksumCalculation: "WHEN_REQUIRED",
          responseChecksumValidation: "WHEN_REQUIRED",
        }
      : {}),
  };
}

export class S3StagingStore implements StagingStore {
  private readonly bucket: string;
  private readonly prefix: string;

  constructor(
    readonly uri: string,
    private readonly client: S3Client,
  ) {
    const url = new URL(uri);
    this.bucket = url.hostname;
    this.prefix = decodeURIComponent(url.pathname.replace(/^\//, ""));
  }

  async list(): Promise<StagedObject[]> {
    return this.explained(() => this.listAll());
  }

  private async listAll(): Promise<StagedObject[]> {
    const objects: StagedObject[] = [];
    let token: string | undefined;
    do {
      const page = await this.client.send(
        new ListObjectsV2Command({ Bucket: this.bucket, Prefix: this.prefix, ContinuationToken: token }),
      );
      for (const item of page.Contents ?? []) {
        if (item.Key) objects.push({ name: item.Key.slice(this.prefix.length), bytes: item.Size ?? 0 });
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return objects.sort((a, b) => a.name.localeCompare(b.name));
  }

  async write(name: string, body: Readable): Promise<void> {
    await this.explained(() => uploadStream(this.client, this.bucket, this.prefix + name, body));
  }

  async read(name: string): Promise<Readable> {
    const object = await this.explained(() =>
      this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.prefix + name })),
    );
    return object.Body as Readable;
  }

  async remove(name: string): Promise<void> {
    await this.explained(() =>
      this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.prefix + name })),
    );
  }

  /**
   * Temporary credentials that expired say what to do; the SDK's error stays the cause, so the
   * tenant is retried with a new client, whose credential chain may fetch fresh ones.
   */
  private async explained<T>(call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      const name = (error as { name?: unknown }).name;
      if (typeof name === "string" && EXPIRED_CREDENTIALS.has(name)) {
        throw new RuntimeError(
          `${this.uri}: the AWS credentials expired (${name}); the tool retries with fresh ones where the ` +
            "credential chain can fetch them, otherwise renew them (aws sso login, a new AWS_SESSION_TOKEN) and resume",
          { cause: error },
        );
      }
      throw error;
    }
  }
}
