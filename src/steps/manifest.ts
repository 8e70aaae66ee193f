import { Readable } from "node:stream";
import { RuntimeError } from "../core/errors.js";
import type { Manifest, StagingStore } from "../io/staging/store.js";
import type { StagedPart } from "./results.js";

/**
 * Writes the manifest COPY reads: every part that holds rows, each `"mandatory": true`, so that
 * Redshift's COPY fails instead of skipping a part that is missing ("Using a manifest to specify
 * data files"). An empty part is left out; no part at all makes an empty manifest, which the load
 * does not hand to COPY (COPY terminates when no files are found).
 */
export async function writeManifest(
  staging: StagingStore,
  name: string,
  parts: readonly StagedPart[],
): Promise<Manifest> {
  const manifest: Manifest = {
    entries: parts
      .filter((part) => part.bytes > 0)
      .map((part) => ({
        url: staging.uri + part.name,
        mandatory: true,
        meta: { content_length: part.bytes },
      })),
  };
  await staging.write(name, Readable.from([JSON.stringify(manifest, null, 2)]));
  return manifest;
}

/**
 * Reads this run's manifest. Every entry must name an object directly inside this run's staging
 * folder, so another tenant's or run's files can never be loaded (runbook defect 5).
 */
export async function readManifest(staging: StagingStore, name: string): Promise<Manifest> {
  const chunks: Buffer[] = [];
  for await (const chunk of await staging.read(name)) chunks.push(chunk as Buffer);
  let manifest: Manifest;
  try {
    manifest = JSON.parse(Buffer.concat(chunks).toString("utf8")) as Manifest;
    if (!Array.isArray(manifest.entries)) throw new Error("no entries");
  } catch (error) {
    throw new RuntimeError(`${staging.uri}${name}: invalid manifest (${(error as Error).message})`);
  }
  for (const entry of manifest.entries as unknown[]) {
    const url = (entry as { url?: unknown } | null)?.url;
    if (typeof url !== "string") {
      throw new RuntimeError(`${staging.uri}${name}: invalid manifest (an entry without a url)`);
    }
    const object = url.startsWith(staging.uri) ? url.slice(staging.uri.length) : "";
    if (object === "" || object === "." || object === ".." || object.includes("/")) {
      throw new RuntimeError(`${staging.uri}${name}: entry ${url} is outside this run's folder`);
    }
  }
  return manifest;
}
