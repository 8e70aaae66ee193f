import { setTimeout as sleep } from "node:timers/promises";
import type { MigrateController } from "../adapters/deployment/controller.js";
import type { ControllerSpec } from "../adapters/deployment/open.js";
import { describeError } from "../errors.js";
import { type RunCommand, RunJournal } from "../journal/journal.js";
import type { Plan, TenantPlan } from "../plan/actions.js";
import { emptyTenantReport, type RunReport, type TenantReport } from "../report/summary.js";
import type { ProgressSink } from "../steps/progress.js";
import { quiesce, restoreMigrate } from "../steps/quiesce.js";
import { thisProcess } from "./lock.js";
import { mayBeAlive } from "./process-alive.js";
import { runTenant, type TenantRunContext } from "./tenant.js";
import { isTransient } from "./transient.js";

export const DEFAULT_JOURNAL_DIR = "rdw-backfill-runs";

export interface MigrateControl {
  controller: MigrateController;
  spec: ControllerSpec;
}

export interface RunOptions {
  progress: ProgressSink;
  /** Stop at the first failed tenant; the others are reported as skipped. */
  failFast: boolean;
  /** The run's journal; created in `journalDir` when not given (a resumed run passes its own). */
  journal?: RunJournal;
  journalDir?: string;
  command?: RunCommand;
  /** Stop migrate-olap before the first tenant and start it again after the last; absent: leave it alone. */
  migrate?: MigrateControl;
  takeOverLock?: boolean;
  /** Attempts per tenant when failures are transient (dropped connections, S3 throttling). */
  attempts?: number;
  retryDelayMs?: number;
  warn?: (message: string) => void;
}

const DEFAULT_ATTEMPTS = 4;
const DEFAULT_RETRY_DELAY_MS = 2000;

/** Creates the journal a plan's run is recorded in. */
export function createJournal(plan: Plan, journalDir: string, command: RunCommand): Promise<RunJournal> {
  return RunJournal.create(
    journalDir,
    plan.runId,
    plan.uriRoot,
    command,
    Object.fromEntries(
      plan.tenants.map((t) => [t.tenant.id, { stagingUri: t.stagingUri, olapSchema: t.olapSchema }]),
    ),
  );
}

/**
 * Executes the plan's actions, tenant by tenant, exactly as the plan lists them, recording each
 * durable step in the journal. migrate-olap is stopped before the first tenant and started again
 * after the last, whatever happened in between.
 */
export async function runPlan(plan: Plan, options: RunOptions): Promise<RunReport> {
  const startedAt = new Date().toISOString();
  const warn = options.warn ?? ((message: string) => options.progress.info("run", `warning: ${message}`));
  const journalDir = options.journalDir ?? DEFAULT_JOURNAL_DIR;
  const journal =
    options.journal ?? (await createJournal(plan, journalDir, options.command ?? commandOf(plan)));
  const reports: TenantReport[] = plan.failed.map((failed) =>
    emptyTenantReport(failed.tenant.id, "failed", `preflight: ${failed.error}`),
  );
  let migrateError: string | undefined;
  try {
    // Stop migrate-olap only when some tenant has work left (not when all failed preflight or finished before).
    const runnable = plan.tenants.some(
      (tenant) =>
        tenant.problems.length === 0 && journal.data.tenants[tenant.tenant.id]?.state !== "verified",
    );
    if (options.migrate && runnable) {
      const earlier = await strandedRuns(journalDir, plan.runId);
      await quiesce(options.migrate.controller, options.migrate.spec, journal, earlier, warn);
    }
    let stop = options.failFast && reports.length > 0;
    const context: TenantRunContext = {
      journal,
      progress: options.progress,
      owner: thisProcess(plan.runId),
      takeOverLock: options.takeOverLock ?? false,
      warn,
    };
    for (const tenantPlan of plan.tenants) {
      if (stop) {
        reports.push(
          emptyTenantReport(tenantPlan.tenant.id, "skipped", "an earlier tenant failed (--fail-fast)"),
        );
        continue;
      }
      const report = await runWithRetries(tenantPlan, context, options);
      reports.push(report);
      options.progress.info(
        tenantPlan.tenant.id,
        report.status === "succeeded" ? "done" : `FAILED: ${report.error}`,
      );
      stop = options.failFast && report.status === "failed";
    }
  } catch (error) {
    // Quiescing failed: no tenant was touched.
    migrateError = `migrate-olap could not be stopped: ${describeError(error)}`;
    for (const tenantPlan of plan.tenants)
      reports.push(emptyTenantReport(tenantPlan.tenant.id, "failed", migrateError));
  } finally {
    if (options.migrate) {
      await restoreMigrate(options.migrate.controller, journal).catch((error: unknown) => {
        migrateError = `migrate-olap could not be started again: ${describeError(error)}; run restore-migrate ${plan.runId}`;
      });
    }
  }
  reports.sort((a, b) => a.tenant.localeCompare(b.tenant)); // the order tenants are discovered in
  const ok = migrateError === undefined && reports.every((report) => report.status === "succeeded");
  await journal.update((data) => (data.status = ok ? "succeeded" : "failed"));
  return {
    runId: plan.runId,
    since: plan.since,
    startedAt,
    finishedAt: new Date().toISOString(),
    ok,
    ...(migrateError === undefined ? {} : { migrateError }),
    ...(journal.data.migrate ? { migrate: journal.data.migrate } : {}),
    tenants: reports,
  };
}

async function runWithRetries(
  plan: TenantPlan,
  context: TenantRunContext,
  options: RunOptions,
): Promise<TenantReport> {
  const attempts = options.attempts ?? DEFAULT_ATTEMPTS;
  const delay = options.retryDelayMs ?? DEFAULT_RETRY_DELAY_MS;
  for (let attempt = 1; ; attempt++) {
    const { report, error } = await runTenant(plan, context);
    if (report.status === "succeeded" || !isTransient(error) || attempt >= attempts) return report;
    const wait = delay * 4 ** (attempt - 1);
    context.warn(
      `tenant ${plan.tenant.id}: ${report.error}; attempt ${attempt + 1} of ${attempts} in ${wait / 1000} s`,
    );
    const entry = context.journal.tenant(plan.tenant.id);
    await context.journal.update(() =>
      entry.retries.push({ at: new Date().toISOString(), error: report.error ?? "" }),
    );
    await sleep(wait);
  }
}

/** Earlier runs in the journal folder that died with migrate-olap stopped (not ones still running). */
async function strandedRuns(journalDir: string, runId: string): Promise<RunJournal[]> {
  const runs = await RunJournal.list(journalDir);
  const stranded = runs.filter(
    (run) =>
      run.runId !== runId &&
      run.migrate?.replicas != null &&
      !run.migrate.restoredAt &&
      !(run.status === "running" && mayBeAlive(run.host, run.pid)),
  );
  return Promise.all(stranded.map((run) => RunJournal.load(journalDir, run.runId)));
}

function commandOf(plan: Plan): RunCommand {
  return {
    configDir: "",
    tenants: plan.tenants.map((t) => t.tenant.id),
    overrides: [],
    since: plan.since,
    backup: plan.backup,
    extract: "auto",
    load: "auto",
    partBytes: 0,
  };
}
