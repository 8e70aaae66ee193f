import { RuntimeError } from "../core/errors.js";
import type { PgStatement } from "../core/statement.js";
import type { PgSession } from "../io/db/pg-session.js";
import { mayBeAlive } from "../io/process-alive.js";
import type { TakeLockSql } from "../dialects/postgres.js";
import type { LockAction, UnlockAction } from "../plan/actions.js";
import type { LockOwner, StepContext } from "./context.js";

interface LockRow {
  run_id: string;
  host: string;
  pid: number;
  acquired_at: Date;
}

/** The plan shows the statement with placeholders for what only the running process knows. */
const withValues = (template: PgStatement, params: (string | number)[]): PgStatement => ({
  ...template,
  params,
});

export async function lock(action: LockAction, context: StepContext): Promise<void> {
  await acquireTenantLock(
    await context.sessions.olap(),
    action.statements,
    context.tenant.tenant.id,
    context.owner,
    {
      takeOver: context.takeOverLock,
      warn: context.warn,
    },
  );
  context.attempt.locked = true;
}

export async function unlock(action: UnlockAction, context: StepContext): Promise<void> {
  if (!context.attempt.locked) return;
  await releaseTenantLock(await context.sessions.olap(), action.release, context.owner);
  context.attempt.locked = false;
}

/** What a run may do about one holder of a tenant lock. */
type Verdict =
  { kind: "mine" } | { kind: "take-over"; warning: string } | { kind: "refuse"; message: string };

function judgeHolder(holder: LockRow, tenant: string, owner: LockOwner, takeOver: boolean): Verdict {
  const mine =
    holder.run_id === owner.runId && holder.host === owner.host && Number(holder.pid) === owner.pid;
  if (mine) return { kind: "mine" };
  const since = new Date(holder.acquired_at).toISOString();
  const who = `run ${holder.run_id} (host ${holder.host}, pid ${holder.pid}, since ${since})`;
  if (!mayBeAlive(holder.host, Number(holder.pid))) {
    return {
      kind: "take-over",
      warning: `tenant ${tenant}: taking over the lock of ${who}: that process is gone`,
    };
  }
  if (takeOver) {
    return {
      kind: "take-over",
      warning: `tenant ${tenant}: taking over the lock of ${who} (--take-over-lock)`,
    };
  }
  return {
    kind: "refuse",
    message: `tenant ${tenant} is locked by ${who}; if that run is dead, run again with --take-over-lock`,
  };
}

/**
 * Takes the tenant's lock, so that two runs never work on one tenant at once. A lock left by a
 * process that is provably gone is taken over with a warning; any other only with `takeOver`.
 */
export async function acquireTenantLock(
  olap: PgSession,
  sql: TakeLockSql,
  tenant: string,
  owner: LockOwner,
  options: { takeOver: boolean; warn: (message: string) => void },
): Promise<void> {
  await olap.query(sql.create);
  await olap.inTransaction(async () => {
    await olap.query(sql.lockTable);
    const { rows } = await olap.query<LockRow>(sql.read);
    for (const holder of rows) {
      const verdict = judgeHolder(holder, tenant, owner, options.takeOver);
      if (verdict.kind === "refuse") throw new RuntimeError(verdict.message);
      if (verdict.kind === "take-over") options.warn(verdict.warning);
    }
    await olap.query(sql.clear);
    await olap.query(withValues(sql.take, [owner.runId, owner.host, owner.pid, new Date().toISOString()]));
  });
}

/**
 * Reads the tenant's lock without taking it or creating anything, before migrate-olap is
 * stopped: returns why the run would be refused (another run holds it, alive or not provably
 * dead), or undefined when the lock step will get it.
 */
export async function peekTenantLock(
  olap: PgSession,
  sql: TakeLockSql,
  tenant: string,
  owner: LockOwner,
  takeOver: boolean,
): Promise<string | undefined> {
  if ((await olap.count(sql.exists)) === 0) return undefined;
  const { rows } = await olap.query<LockRow>(sql.read);
  for (const holder of rows) {
    const verdict = judgeHolder(holder, tenant, owner, takeOver);
    if (verdict.kind === "refuse") return verdict.message;
  }
  return undefined;
}

export async function releaseTenantLock(
  olap: PgSession,
  release: PgStatement,
  owner: LockOwner,
): Promise<void> {
  await olap.query(withValues(release, [owner.runId]));
}
