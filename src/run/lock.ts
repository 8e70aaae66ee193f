import { hostname } from "node:os";
import type { OlapConnection } from "../adapters/target/postgres.js";
import { RuntimeError } from "../errors.js";
import { OlapSql } from "../plan/sql/olap.js";
import { mayBeAlive } from "./process-alive.js";

export interface LockOwner {
  runId: string;
  host: string;
  pid: number;
}

export const thisProcess = (runId: string): LockOwner => ({ runId, host: hostname(), pid: process.pid });

interface LockRow {
  run_id: string;
  host: string;
  pid: number;
  acquired_at: Date;
}

/**
 * Takes the tenant's lock, so that two runs never work on one tenant at once. A lock left by a
 * process that is provably gone is taken over with a warning; any other only with `takeOver`.
 */
export async function acquireTenantLock(
  olap: OlapConnection,
  schema: string,
  tenant: string,
  owner: LockOwner,
  options: { takeOver: boolean; warn: (message: string) => void },
): Promise<void> {
  const sql = new OlapSql(schema).lock();
  await olap.query(sql.create);
  await olap.inTransaction(async () => {
    await olap.query(sql.lockTable);
    const { rows } = await olap.query<LockRow>(sql.read);
    for (const holder of rows) {
      const mine =
        holder.run_id === owner.runId && holder.host === owner.host && Number(holder.pid) === owner.pid;
      if (mine) continue;
      const since = new Date(holder.acquired_at).toISOString();
      const who = `run ${holder.run_id} (host ${holder.host}, pid ${holder.pid}, since ${since})`;
      if (!mayBeAlive(holder.host, Number(holder.pid))) {
        options.warn(`tenant ${tenant}: taking over the lock of ${who}: that process is gone`);
      } else if (options.takeOver) {
        options.warn(`tenant ${tenant}: taking over the lock of ${who} (--take-over-lock)`);
      } else {
        throw new RuntimeError(
          `tenant ${tenant} is locked by ${who}; if that run is dead, run again with --take-over-lock`,
        );
      }
    }
    await olap.query(sql.clear);
    await olap.query({ ...sql.take, params: [owner.runId, owner.host, owner.pid, new Date().toISOString()] });
  });
}

export async function releaseTenantLock(
  olap: OlapConnection,
  schema: string,
  owner: LockOwner,
): Promise<void> {
  const sql = new OlapSql(schema).lock();
  await olap.query({ ...sql.release, params: [owner.runId] });
}
