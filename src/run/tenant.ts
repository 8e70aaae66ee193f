import { Readable } from "node:stream";
import { WarehouseConnection } from "../adapters/source/mysql.js";
import { openStaging } from "../adapters/staging/open.js";
import type { StagingStore } from "../adapters/staging/store.js";
import { OlapConnection } from "../adapters/target/postgres.js";
import { describeError, RuntimeError } from "../errors.js";
import type { RunJournal, TenantState } from "../journal/journal.js";
import type { TenantPlan } from "../plan/actions.js";
import { OlapSql } from "../plan/sql/olap.js";
import { emptyTenantReport, type TenantReport } from "../report/summary.js";
import { backup } from "../steps/backup.js";
import { extract, type ExtractResult } from "../steps/extract.js";
import { load, type LoadResult } from "../steps/load.js";
import { LoadRejectedError } from "../steps/load-redshift.js";
import { startOverlappedLoad } from "../steps/load-stdin.js";
import { merge, type MergeResult } from "../steps/merge.js";
import type { ProgressSink } from "../steps/progress.js";
import { verify } from "../steps/verify.js";
import { acquireTenantLock, type LockOwner, releaseTenantLock } from "./lock.js";

export interface TenantRunContext {
  journal: RunJournal;
  progress: ProgressSink;
  owner: LockOwner;
  takeOverLock: boolean;
  warn: (message: string) => void;
}

export interface TenantOutcome {
  report: TenantReport;
  /** The failure, for the caller to decide whether another attempt may help. */
  error?: unknown;
}

/**
 * Runs one tenant's actions from where its journal says it got to: a backup, an extract or a
 * merge that is recorded as done is not done again. Everything else is safe to repeat: the load
 * lives in work tables that each attempt creates afresh, and the replace is one transaction.
 */
export async function runTenant(plan: TenantPlan, context: TenantRunContext): Promise<TenantOutcome> {
  const { journal, progress } = context;
  const id = plan.tenant.id;
  const entry = journal.tenant(id);
  if (entry.state === "verified" && entry.report) return { report: entry.report };
  const started = Date.now();
  const report = emptyTenantReport(id, "failed");
  Object.assign(report, {
    olapSchema: plan.olapSchema,
    extractMode: plan.extract.mode,
    loadMode: plan.load.mode,
    stagingUri: plan.stagingUri,
  });
  if (plan.problems.length > 0) {
    report.error = `preflight: ${plan.problems.join("; ")}`;
    return { report };
  }
  const checkpoint = (state: TenantState, fields: Partial<typeof entry> = {}) =>
    journal.update(() => Object.assign(entry, fields, { state }));
  const connections: { close(): Promise<void> }[] = [];
  let lockedBy: OlapConnection | undefined;
  try {
    await journal.update(() => (entry.attempts += 1));
    const warehouses: WarehouseConnection[] = [];
    // A resumed tenant whose extract is done needs one session at most.
    for (let i = 0; i < (entry.extract ? 1 : warehouseSessions(plan)); i++) {
      warehouses.push(await WarehouseConnection.open(plan.tenant.warehouse, `tenant ${id} warehouse`));
      connections.push(warehouses[i]!);
    }
    const olap = await OlapConnection.open(plan.tenant.olap, `tenant ${id} OLAP`, { readOnly: false });
    connections.push(olap);
    const staging = openStaging(plan.stagingUri);
    await probeWritable(staging);
    await acquireTenantLock(olap, plan.olapSchema, id, context.owner, {
      takeOver: context.takeOverLock,
      warn: context.warn,
    });
    lockedBy = olap;
    let extracted: ExtractResult | undefined = entry.extract;
    let loaded: LoadResult | undefined;
    let merged: MergeResult | undefined;
    for (const action of plan.actions) {
      const stepStarted = Date.now();
      switch (action.step) {
        case "backup":
          if (entry.state === "pending") {
            // A backup is one transaction: if its table exists, it is complete.
            const exists = await olap.count(new OlapSql(plan.olapSchema).tableExists(action.backupTable));
            if (!exists) await backup(action, olap);
            await checkpoint("backed-up", { backupTable: action.backupTable });
          }
          report.backupTable = action.backupTable;
          break;
        case "extract":
          if (!extracted) {
            await clearFolder(staging); // parts of an interrupted attempt
            const loadAction = plan.actions.find((next) => next.step === "load");
            const overlapped =
              action.mode === "stream" && loadAction?.mode === "postgres" && loadAction.alongsideExtract
                ? await startOverlappedLoad(loadAction, olap, staging.uri)
                : undefined;
            try {
              extracted = await extract(
                action,
                warehouses,
                staging,
                progress.step(id, "extract", plan.estimates.altScoreRowsApprox),
                overlapped?.sink,
              );
            } catch (error) {
              overlapped?.abort();
              throw error;
            }
            await checkpoint("extracted", { extract: extracted });
            if (overlapped) {
              const loadProgress = progress.step(id, "load", extracted.rowsStaged);
              loaded = await overlapped.finish(extracted);
              loadProgress.done(loaded.rowsCopied);
            }
          }
          Object.assign(report, {
            extracted: extracted.rowsRead,
            staged: extracted.rowsStaged,
            rejected: [...extracted.sourceRejections],
          });
          break;
        case "load": {
          const { manifestName, rowsStaged } = need(extracted, "extract");
          // Already done alongside the extract, unless this attempt resumes from staged parts.
          loaded ??= await load(
            action,
            { manifestName, rowsStaged },
            olap,
            staging,
            progress.step(id, "load", rowsStaged),
          );
          break;
        }
        case "merge": {
          const { rowsCopied } = need(loaded, "load");
          const committed = entry.state === "merged" ? entry.merge : undefined;
          const second = action.rejectionsAlongside ? await openSecondOlapSession(plan) : undefined;
          try {
            merged = await merge(
              action,
              { rowsCopied, committed },
              olap,
              progress.step(id, "merge", rowsCopied),
              second,
            );
          } finally {
            await second?.close();
          }
          if (!committed) await checkpoint("merged", { merge: merged });
          for (const statement of action.dropWorkTables) await olap.query(statement);
          Object.assign(report, {
            loaded: merged.loaded,
            replaced: merged.replaced,
            kept: merged.kept,
            finalCount: merged.liveAfter,
            rejected: [...report.rejected, ...merged.targetRejections],
          });
          break;
        }
        case "verify": {
          const input = {
            extract: need(extracted, "extract"),
            load: need(loaded, "load"),
            merge: need(merged, "merge"),
          };
          const verified = verify(input);
          report.checks = verified.checks;
          if (!verified.ok) {
            const failed = verified.checks.filter((check) => !check.ok).map((check) => check.name);
            throw new RuntimeError(`verification failed: ${failed.join("; ")}`);
          }
          break;
        }
      }
      report.steps.push({ step: action.step, durationMs: Date.now() - stepStarted });
    }
    report.status = "succeeded";
    report.durationMs = Date.now() - started;
    report.retries = entry.retries;
    await checkpoint("verified", { report, error: undefined });
    return { report };
  } catch (error) {
    report.error = describeError(error);
    if (error instanceof LoadRejectedError) report.loadErrors = error.loadErrors;
    await journal.update(() => (entry.error = report.error));
    return { report, error };
  } finally {
    // An attempt that failed leaves its work tables; the next one drops them before it loads.
    if (lockedBy) await releaseTenantLock(lockedBy, plan.olapSchema, context.owner).catch(() => undefined);
    for (const connection of connections.reverse()) await connection.close();
    report.durationMs = Date.now() - started;
    report.retries = entry.retries;
  }
}

/** One warehouse session per range the streaming extract reads at once; one otherwise. */
function warehouseSessions(plan: TenantPlan): number {
  const extractAction = plan.actions.find((action) => action.step === "extract");
  return extractAction?.mode === "stream" ? Math.max(1, extractAction.queries.length) : 1;
}

/** Another session on the tenant's OLAP database, with the load's settings (PostgreSQL). */
async function openSecondOlapSession(plan: TenantPlan): Promise<OlapConnection> {
  const session = await OlapConnection.open(plan.tenant.olap, `tenant ${plan.tenant.id} OLAP`, {
    readOnly: true,
  });
  const loadAction = plan.actions.find((action) => action.step === "load");
  try {
    if (loadAction?.mode === "postgres") {
      for (const statement of loadAction.session) await session.query(statement);
    }
    return session;
  } catch (error) {
    await session.close();
    throw error;
  }
}

/** Fails before anything is modified when the run's staging folder cannot be written. */
async function probeWritable(staging: StagingStore): Promise<void> {
  const probe = "_write_probe";
  try {
    await staging.write(probe, Readable.from(["rdw-backfill"]));
    await staging.remove(probe);
  } catch (error) {
    throw new RuntimeError(`staging ${staging.uri} is not writable (${describeError(error)})`, {
      cause: error,
    });
  }
}

async function clearFolder(staging: StagingStore): Promise<void> {
  for (const object of await staging.list()) await staging.remove(object.name);
}

function need<T>(value: T | undefined, step: string): T {
  if (value === undefined) throw new RuntimeError(`internal: plan runs a step before ${step}`);
  return value;
}
