import { createReadStream, createWriteStream } from "node:fs";
import { mkdir, readdir, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { fileURLToPath } from "node:url";
import type { StagedObject, StagingStore } from "./store.js";

/** `file://` staging, for development and tests. */
export class FileStagingStore implements StagingStore {
  private readonly dir: string;

  constructor(readonly uri: string) {
    this.dir = fileURLToPath(uri);
  }

  async list(): Promise<StagedObject[]> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (code === "ENOENT" || code === "ENOTDIR") return []; // nothing staged there; writing will tell

      throw error;
    }
    const objects = await Promise.all(
      names.map(async (name) => ({ name, bytes: (await stat(join(this.dir, name))).size })),
    );
    return objects.sort((a, b) => a.name.localeCompare(b.name));
  }

  async write(name: string, body: Readable): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    await pipeline(body, createWriteStream(join(this.dir, name)));
  }

  async read(name: string): Promise<Readable> {
    const stream = createReadStream(join(this.dir, name));
    await new Promise<void>((resolve, reject) => stream.once("open", () => resolve()).once("error", reject));
    return stream;
  }

  async remove(name: string): Promise<void> {
    await rm(join(this.dir, name), { force: true });
  }
}
