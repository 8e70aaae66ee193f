import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import S3rver from "s3rver";

export interface LocalS3 {
  /** For `AWS_ENDPOINT_URL_S3`. */
  endpoint: string;
  /** Environment that points the AWS SDK at this server. */
  env: Record<string, string>;
  stop(): Promise<void>;
  /** Stops answering for `downMs`, then serves the same data on the same port again (fault tests). */
  interrupt(downMs: number): Promise<void>;
}

/**
 * An S3-compatible HTTP server (s3rver) on 127.0.0.1, for the demo and the tests. Its data
 * lives in a temporary folder that is removed when it stops.
 */
export async function startLocalS3(buckets: string[], port = 0): Promise<LocalS3> {
  const directory = await mkdtemp(join(tmpdir(), "rdw-backfill-s3-"));
  const serve = (on: number) =>
    new S3rver({
      address: "127.0.0.1",
      port: on,
      silent: true,
      directory,
      allowMismatchedSignatures: true,
      configureBuckets: buckets.map((name) => ({ name })),
    });
  let server = serve(port);
  const address = await server.run();
  const endpoint = `http://127.0.0.1:${address.port}`;
  return {
    endpoint,
    env: {
      AWS_ENDPOINT_URL_S3: endpoint,
      AWS_REGION: "us-east-1",
      AWS_ACCESS_KEY_ID: "S3RVER",
      AWS_SECRET_ACCESS_KEY: "S3RVER",
    },
    async stop() {
      await server.close();
      await rm(directory, { recursive: true, force: true });
    },
    async interrupt(downMs) {
      await server.close();
      await new Promise((resolve) => setTimeout(resolve, downMs));
      server = serve(address.port);
      await server.run();
    },
  };
}
