import { Readable } from "node:stream";
import { WarehouseConnection } from "../adapters/source/mysql.js";
import { openStaging } from "../adapters/staging/open.js";
import type { StagingStore } from "../adapters/staging/store.js";
import { OlapConnection } from "../adapters/target/postgres.js";
import { describeError, RuntimeError } from "../errors.js";
import type { Plan, TenantPlan } from "../plan/actions.js";
import { emptyTenantReport, type RunReport, type TenantReport } from "../report/summary.js";
import { backup } from "../steps/backup.js";
import { extract, type ExtractResult } from "../steps/extract.js";
import { load, type LoadResult } from "../steps/load.js";
import { LoadRejectedError } from "../steps/load-redshift.js";
import { merge, type MergeResult } from "../steps/merge.js";
import type { ProgressSink } from "../steps/progress.js";
import { verify } from "../steps/verify.js";

export interface RunOptions {
  progress: ProgressSink;
  /** Stop at the first failed tenant; the others are reported as skipped. */
  failFast: boolean;
}

/** Executes the plan's actions, tenant by tenant, exactly as the plan lists them. */
export async function runPlan(plan: Plan, options: RunOptions): Promise<RunReport> {
  const startedAt = new Date().toISOString();
  const reports: TenantReport[] = plan.failed.map((failed) =>
    emptyTenantReport(failed.tenant.id, "failed", `preflight: ${failed.error}`),
  );
  let stop = options.failFast && reports.length > 0;
  for (const tenantPlan of plan.tenants) {
    if (stop) {
      reports.push(
        emptyTenantReport(tenantPlan.tenant.id, "skipped", "an earlier tenant failed (--fail-fast)"),
      );
      continue;
    }
    const report = await runTenant(tenantPlan, options.progress);
    reports.push(report);
    options.progress.info(
      tenantPlan.tenant.id,
      report.status === "succeeded" ? "done" : `FAILED: ${report.error}`,
    );
    stop = options.failFast && report.status === "failed";
  }
  reports.sort((a, b) => a.tenant.localeCompare(b.tenant)); // the order tenants are discovered in
  return {
    runId: plan.runId,
    since: plan.since,
    startedAt,
    finishedAt: new Date().toISOString(),
    ok: reports.every((report) => report.status === "succeeded"),
    tenants: reports,
  };
}

async function runTenant(plan: TenantPlan, progress: ProgressSink): Promise<TenantReport> {
  const id = plan.tenant.id;
  const started = Date.now();
  const report = emptyTenantReport(id, "failed");
  Object.assign(report, {
    olapSchema: plan.olapSchema,
    extractMode: plan.extract.mode,
    loadMode: plan.load.mode,
  });
  if (plan.problems.length > 0) {
    report.error = `preflight: ${plan.problems.join("; ")}`;
    return report;
  }
  const connections: { close(): Promise<void> }[] = [];
  try {
    const warehouse = await WarehouseConnection.open(plan.tenant.warehouse, `tenant ${id} warehouse`);
    connections.push(warehouse);
    const olap = await OlapConnection.open(plan.tenant.olap, `tenant ${id} OLAP`, { readOnly: false });
    connections.push(olap);
    const staging = openStaging(plan.stagingUri);
    report.stagingUri = plan.stagingUri;
    await probeWritable(staging);
    let extracted: ExtractResult | undefined;
    let loaded: LoadResult | undefined;
    let merged: MergeResult | undefined;
    for (const action of plan.actions) {
      const stepStarted = Date.now();
      switch (action.step) {
        case "backup":
          report.backupTable = (await backup(action, olap)).table;
          break;
        case "extract":
          extracted = await extract(
            action,
            warehouse,
            staging,
            progress.step(id, "extract", plan.estimates.altScoreRowsApprox),
          );
          report.extracted = extracted.rowsRead;
          report.staged = extracted.rowsStaged;
          report.rejected = [...extracted.sourceRejections];
          break;
        case "load": {
          const { manifestName, rowsStaged } = need(extracted, "extract");
          const progressBar = progress.step(id, "load", rowsStaged);
          loaded = await load(action, { manifestName, rowsStaged }, olap, staging, progressBar);
          break;
        }
        case "merge": {
          const { rowsCopied } = need(loaded, "load");
          merged = await merge(action, { rowsCopied }, olap, progress.step(id, "merge", rowsCopied));
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
          const verified = await verify(action, input, olap);
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
  } catch (error) {
    report.error = describeError(error);
    if (error instanceof LoadRejectedError) report.loadErrors = error.loadErrors;
  } finally {
    for (const connection of connections.reverse()) await connection.close();
    report.durationMs = Date.now() - started;
  }
  return report;
}

/** Fails before anything is modified when the run's staging folder cannot be written. */
async function probeWritable(staging: StagingStore): Promise<void> {
  const probe = "_write_probe";
  try {
    await staging.write(probe, Readable.from(["rdw-backfill"]));
    await staging.remove(probe);
  } catch (error) {
    throw new RuntimeError(`staging ${staging.uri} is not writable (${describeError(error)})`);
  }
}

function need<T>(value: T | undefined, step: string): T {
  if (value === undefined) throw new RuntimeError(`internal: plan runs a step before ${step}`);
  return value;
}
