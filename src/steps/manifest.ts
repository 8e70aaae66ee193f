import { RuntimeError } from "../core/errors.js";
import type { Manifest, StagingStore } from "../io/staging/store.js";

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
  for (const entry of manifest.entries) {
    if (!entry.url.startsWith(staging.uri) || entry.url.slice(staging.uri.length).includes("/")) {
      throw new RuntimeError(`${staging.uri}${name}: entry ${entry.url} is outside this run's folder`);
    }
  }
  return manifest;
}
