import type { Readable } from "node:stream";

export interface StagedObject {
  name: string;
  bytes: number;
}

/**
 * A folder of staged files: `s3://bucket/prefix/…/` or `file:///dir/…/`. Names are relative to
 * the folder, so nothing outside it is ever read or written.
 */
export interface StagingStore {
  /** The folder's URI, ending with `/`. */
  readonly uri: string;
  list(): Promise<StagedObject[]>;
  /** Writes an object from a stream; resolves once it is stored. */
  write(name: string, body: Readable): Promise<void>;
  read(name: string): Promise<Readable>;
  remove(name: string): Promise<void>;
}

/** Deletes every object in the folder; returns how many there were. */
export async function removeAll(staging: StagingStore): Promise<number> {
  const objects = await staging.list();
  for (const object of objects) await staging.remove(object.name);
  return objects.length;
}

/** Redshift's COPY manifest format, which Aurora's `MANIFEST ON` also writes. */
export interface Manifest {
  /** Aurora's manifests have no `meta`. */
  entries: { url: string; mandatory?: boolean; meta?: { content_length: number } }[];
}
