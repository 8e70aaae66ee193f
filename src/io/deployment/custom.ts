import { mkdir, open, readFile, rename, unlink, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import { dirname } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { RuntimeError } from "../../core/errors.js";
import { mayBeAlive } from "../process-alive.js";
import type { DeploymentView, LeaseChange, MigrateController, MigrateLease } from "./controller.js";
import { leaseFromFileText, leaseToFileText } from "./lease-codec.js";
import { runCommand } from "./run-command.js";

/** How long a run waits for another to finish its lease update (which may run a quiesce or restore command). */
const FILE_LOCK_WAIT_MS = 5 * 60 * 1000;
const FILE_LOCK_POLL_MS = 100;

/**
 * Operator-supplied shell commands, for deployments not on Kubernetes. The quiesce command may
 * print the replica count to restore; the restore command gets it as RDW_BACKFILL_REPLICAS.
 *
 * There is no Deployment to annotate, so the lease is a JSON file (by default
 * `migrate-lease.json` in the journal folder): runs that share migrate-olap must share that
 * folder (one machine, or a shared file system). Each update happens under an exclusive lock
 * file beside it, with the quiesce or restore command run inside, so that joining and leaving
 * are atomic with respect to the other runs.
 */
export class CustomCommandController implements MigrateController {
  readonly description = "custom commands (--quiesce-cmd, --restore-cmd)";
  readonly leaseLocation: string;
  readonly commands: { quiesce: string[]; restore: string[]; check: string[] };

  constructor(
    private readonly quiesceCommand: string,
    private readonly restoreCommand: string,
    private readonly leaseFile: string,
  ) {
    this.leaseLocation = `the file ${leaseFile}`;
    this.commands = {
      quiesce: [
        `under ${leaseFile}.lock: add this run to ${leaseFile}, then: ${quiesceCommand}   (a count it prints is kept only by the first run to hold the lease)`,
      ],
      restore: [
        `under ${leaseFile}.lock: remove this run from ${leaseFile}; the last run to leave runs: RDW_BACKFILL_REPLICAS=<the lease's count> ${restoreCommand}`,
      ],
      check: [],
    };
  }

  async updateLease<T>(
    decide: (view: DeploymentView) => { change?: LeaseChange; result: T },
  ): Promise<{ result: T; lease: MigrateLease | undefined }> {
    return this.underFileLock(async () => {
      const current = await this.readLease();
      const { change, result } = decide({ lease: current, replicas: undefined });
      if (!change) return { result, lease: current };
      let lease = change.lease;
      if (change.scaleTo === undefined) {
        await this.writeLease(lease);
      } else if (change.scaleTo === 0) {
        // Written first: if the command fails half-way, the lease still says who must restore it.
        await this.writeLease(lease);
        const printed = await this.stop();
        if (lease && change.originalFromStop && printed !== undefined) {
          lease = { ...lease, originalReplicas: printed };
          await this.writeLease(lease);
        }
      } else {
        // Written after: if the command fails, the lease keeps its holders and count for restore-migrate.
        await this.restore(change.scaleTo);
        await this.writeLease(lease);
      }
      return { result, lease };
    });
  }

  async waitStopped(): Promise<void> {
    // The quiesce command returns once migrate-olap is stopped.
  }

  async running(): Promise<undefined> {
    return undefined;
  }

  private async stop(): Promise<number | undefined> {
    const { stdout } = await runCommand(this.quiesceCommand, [], process.env, true);
    const printed = Number(stdout.trim().split("\n").pop());
    return stdout.trim() !== "" && Number.isInteger(printed) && printed >= 0 ? printed : undefined;
  }

  private async restore(replicas: number): Promise<void> {
    await runCommand(
      this.restoreCommand,
      [],
      { ...process.env, RDW_BACKFILL_REPLICAS: String(replicas) },
      true,
    );
  }

  private async readLease(): Promise<MigrateLease | undefined> {
    let text: string;
    try {
      text = await readFile(this.leaseFile, "utf8");
    } catch (error) {
      if ((error as { code?: string }).code === "ENOENT") return undefined;
      throw error;
    }
    return leaseFromFileText(text, this.leaseFile);
  }

  private async writeLease(lease: MigrateLease | undefined): Promise<void> {
    if (!lease) {
      await unlink(this.leaseFile).catch((error: unknown) => {
        if ((error as { code?: string }).code !== "ENOENT") throw error;
      });
      return;
    }
    const temporary = `${this.leaseFile}.${process.pid}.tmp`;
    await writeFile(temporary, leaseToFileText(lease));
    await rename(temporary, this.leaseFile);
  }

  /** Runs `work` holding `<lease file>.lock`; a lock file left by a process gone from this host is removed. */
  private async underFileLock<T>(work: () => Promise<T>): Promise<T> {
    const lockFile = `${this.leaseFile}.lock`;
    await mkdir(dirname(lockFile), { recursive: true });
    const deadline = Date.now() + FILE_LOCK_WAIT_MS;
    for (;;) {
      try {
        const handle = await open(lockFile, "wx");
        await handle.writeFile(JSON.stringify({ host: hostname(), pid: process.pid }));
        await handle.close();
        break;
      } catch (error) {
        if ((error as { code?: string }).code !== "EEXIST") throw error;
      }
      const holder = await readFile(lockFile, "utf8")
        .then((text) => JSON.parse(text) as { host?: string; pid?: number })
        .catch(() => undefined);
      if (holder?.host !== undefined && holder.pid !== undefined && !mayBeAlive(holder.host, holder.pid)) {
        await unlink(lockFile).catch(() => undefined);
        continue;
      }
      if (Date.now() > deadline) {
        throw new RuntimeError(
          `${lockFile} is held by ${holder ? `host ${holder.host}, pid ${holder.pid}` : "another process"} for more than ` +
            `${FILE_LOCK_WAIT_MS / 1000} s; if that process is dead, delete the file`,
        );
      }
      await sleep(FILE_LOCK_POLL_MS);
    }
    try {
      return await work();
    } finally {
      await unlink(lockFile).catch(() => undefined);
    }
  }
}
