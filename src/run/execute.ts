import { setTimeout as sleep } from "node:timers/promises";
import { describeError } from "../core/errors.js";
import { isTransient } from "../core/transient.js";
import { PgSession } from "../io/db/pg-session.js";
import { DEFAULT_PODS_TIMEOUT_MS, openController } from "../io/deployment/open.js";
import { mayBeAlive } from "../io/process-alive.js";
import type { LockAction, Plan, TenantPlan } from "../plan/actions.js";
import { extractShare } from "../plan/estimate.js";
import { inStartOrder } from "../plan/parallelism.js";
import type { LockOwner } from "../steps/context.js";
import { peekTenantLock } from "../steps/lock.js";
import type { ProgressSink } from "../steps/progress.js";
import { describeLeave, holdsMigrate, quiesce, restoreMigrate } from "../steps/quiesce.js";
import { type RunCommand, RunJournal } from "./journal.js";
import { forEachAtMost } from "../core/pool.js";
import { runTenant, type TenantRunContext } from "./tenant.js";
import { StepTurns } from "./turns.js";
import { hostname } from "node:os";

export const DEFAULT_JOURNAL_DIR = "rdw-backfill-runs";

export interface RunOptions {
  progress: ProgressSink;
  /**
   * After the first failed tenant, start no other; those not started are reported as skipped
   * (tenants already running finish their attempt).
   */
  failFast: boolean;
  /** The run's journal; created in `journalDir` when not given (a resumed run passes its own). */
  journal?: RunJournal;
  journalDir?: string;
  command?: RunCommand;
  /** How long to wait for migrate-olap's pods to be gone. */
  podsTimeoutMs?: number;
  takeOverLock?: boolean;
  /** Attempts per tenant when failures are transient (dropped connections, S3 throttling). */
  attempts?: number;
  retryDelayMs?: number;
  warn?: (message: string) => void;
  /** No tenant is started at or after this time (the maintenance window's end); `resume` does the rest. */
  stopAfter?: Date;
  /** How long a stream, a COPY or an upload may make no progress (default 5 minutes). */
  stallTimeoutMs?: number;
  /** The clock `stopAfter` is read against (tests stop the window between two tenants). */
  now?: () => number;
}

/** What a run did; the report is derived from it. */
export interface RunOutcome {
  journal: RunJournal;
  startedAt: string;
  finishedAt: string;
  /** migrate-olap could not be stopped or started again. */
  migrateError?: string;
}

export const DEFAULT_ATTEMPTS = 4;
export const DEFAULT_STALL_TIMEOUT_MS = 5 * 60_000;
const DEFAULT_RETRY_DELAY_MS = 2000;

export const thisProcess = (runId: string): LockOwner => ({ runId, host: hostname(), pid: process.pid });

/** Creates the journal a plan's run is recorded in. */
export function createJournal(plan: Plan, journalDir: string, command: RunCommand): Promise<RunJournal> {
  return RunJournal.create(
    journalDir,
    plan.runId,
    plan.uriRoot,
    command,
    Object.fromEntries(
      plan.tenants.map((t) => [
        t.tenant.id,
        {
          stagingUri: t.stagingUri,
          olapSchema: t.olapSchema,
          extractMode: t.extract.mode,
          loadMode: t.load.mode,
          olapDialect: t.load.dialect,
          altScores: t.altScoreNames,
        },
      ]),
    ),
  );
}

/**
 * Executes the plan: migrate-olap is stopped before the first tenant (when the plan says so),
 * each tenant's actions run exactly as the plan lists them, with retries of transient failures,
 * on up to `parallel` tenants at once, and migrate-olap is started again after the last,
 * whatever happened in between.
 */
export async function executePlan(plan: Plan, options: RunOptions): Promise<RunOutcome> {
  const startedAt = new Date().toISOString();
  const warn = options.warn ?? ((message: string) => options.progress.info("run", `warning: ${message}`));
  const journalDir = options.journalDir ?? DEFAULT_JOURNAL_DIR;
  const journal =
    options.journal ?? (await createJournal(plan, journalDir, options.command ?? commandOf(plan)));
  const controller = plan.migrate
    ? openController(plan.migrate.spec, options.podsTimeoutMs ?? DEFAULT_PODS_TIMEOUT_MS, journalDir)
    : undefined;
  const owner = thisProcess(plan.runId);
  const takeOverLock = options.takeOverLock ?? false;
  await recordAltScoreNames(journal, plan);
  let migrateError: string | undefined;
  let failures = plan.failed.length;
  let leftForLater = 0;
  // Before anything is stopped or written: a tenant another run works on is refused at once.
  const refused = await refuseLockedTenants(plan, journal, owner, takeOverLock);
  try {
    // A tenant known to fail before it starts: refused at its lock, or with problems in the plan.
    const failsAtOnce = (tenant: TenantPlan) => refused.has(tenant.tenant.id) || tenant.problems.length > 0;
    const workLeft = plan.tenants.filter((tenant) => journal.tenant(tenant.tenant.id).state !== "verified");
    // Stop migrate-olap only when some tenant has work left (not when all failed preflight, are
    // held by other runs, or finished before; nor when --fail-fast will skip them all).
    const doomed = options.failFast && (plan.failed.length > 0 || workLeft.some(failsAtOnce));
    const runnable = workLeft.some((tenant) => !failsAtOnce(tenant));
    if (plan.migrate && controller && runnable && !doomed) {
      const earlier = await strandedRuns(journalDir, plan.runId);
      await quiesce(controller, plan.migrate.spec, journal, owner, earlier, warn);
    }
    const atOnce = plan.parallelism;
    const context: TenantRunContext = {
      journal,
      progress: options.progress,
      owner,
      takeOverLock,
      ...(controller && holdsMigrate(journal.migrate) ? { migrate: controller } : {}),
      warn,
      stallMs: options.stallTimeoutMs ?? DEFAULT_STALL_TIMEOUT_MS,
      turns: new StepTurns(atOnce.oneAtATime, atOnce.startOrder),
    };
    const now = options.now ?? Date.now;
    /** Runs the tenant, or records why it is not started (--fail-fast, a lock held elsewhere, --stop-after). */
    const runOrSkip = async (tenantPlan: TenantPlan) => {
      const id = tenantPlan.tenant.id;
      const entry = journal.tenant(id);
      // With --fail-fast, a tenant known to fail up front fails the run as a failed preflight does:
      // nothing runs, and it is reported with its own reason.
      if ((doomed || (options.failFast && failures > 0)) && !failsAtOnce(tenantPlan)) {
        await journal.update(() => (entry.skipped = "an earlier tenant failed (--fail-fast)"));
        options.progress.tenantEnded(id, "skipped");
        return;
      }
      if (refused.has(id)) {
        options.progress.info(id, `FAILED: ${entry.error}`);
        options.progress.tenantEnded(id, "failed");
        failures++;
        return;
      }
      if (options.stopAfter && now() >= options.stopAfter.getTime() && entry.state !== "verified") {
        await journal.update(
          () =>
            (entry.skipped = `not started: --stop-after ${options.stopAfter!.toISOString()} had passed; rdw-backfill resume ${plan.runId} does it`),
        );
        options.progress.tenantEnded(id, "skipped");
        leftForLater++;
        return;
      }
      const doneBefore = entry.state === "verified"; // by an earlier process of this run
      if (!doneBefore) options.progress.tenantStarted(id);
      const failed = await runWithRetries(tenantPlan, context, options);
      options.progress.info(id, failed ? `FAILED: ${entry.error}` : "done");
      if (!doneBefore) options.progress.tenantEnded(id, failed ? "failed" : "done");
      if (failed) failures++;
    };
    options.progress.planned(
      plan.tenants
        .filter((tenant) => journal.tenant(tenant.tenant.id).state !== "verified")
        .map((tenant) => ({
          tenant: tenant.tenant.id,
          expectedRows: tenant.estimates.altScoreRowsApprox,
          extractShare: extractShare(tenant.actions),
        })),
    );
    await forEachAtMost(inStartOrder(plan.tenants, atOnce.startOrder), atOnce.tenants, runOrSkip);
  } catch (error) {
    // Quiescing failed: no tenant was touched.
    migrateError = `migrate-olap could not be stopped: ${describeError(error)}`;
    await journal.update(() => {
      for (const tenant of plan.tenants)
        if (!refused.has(tenant.tenant.id)) journal.tenant(tenant.tenant.id).error = migrateError;
    });
  } finally {
    if (controller) {
      // This run leaves the lease: the last run to leave starts migrate-olap again.
      await restoreMigrate(controller, journal, { warn })
        .then((outcome) => outcome && options.progress.info("run", describeLeave(outcome)))
        .catch((error: unknown) => {
          migrateError = `migrate-olap could not be started again: ${describeError(error)}; run restore-migrate ${plan.runId}`;
        });
    }
  }
  const ok =
    migrateError === undefined &&
    plan.failed.length === 0 &&
    plan.tenants.every((tenant) => journal.tenant(tenant.tenant.id).state === "verified");
  const stopped = !ok && failures === 0 && migrateError === undefined && leftForLater > 0;
  await journal.update((data) => (data.status = ok ? "succeeded" : stopped ? "stopped" : "failed"));
  return {
    journal,
    startedAt,
    finishedAt: new Date().toISOString(),
    ...(migrateError === undefined ? {} : { migrateError }),
  };
}

/**
 * Reads, read-only and before migrate-olap is stopped, the lock of every tenant that has work
 * left: a tenant another run holds (alive, or not provably dead without --take-over-lock) is
 * refused with the holder's run id, host and pid, recorded in the journal, and not run at all.
 * A lock that cannot be read is left to the lock step.
 */
async function refuseLockedTenants(
  plan: Plan,
  journal: RunJournal,
  owner: LockOwner,
  takeOver: boolean,
): Promise<Map<string, string>> {
  const refused = new Map<string, string>();
  for (const tenantPlan of plan.tenants) {
    const id = tenantPlan.tenant.id;
    if (tenantPlan.problems.length > 0 || journal.tenant(id).state === "verified") continue;
    const lock = tenantPlan.actions.find((action): action is LockAction => action.step === "lock");
    if (!lock) continue;
    let session: PgSession | undefined;
    try {
      session = await PgSession.open(
        tenantPlan.tenant.olap,
        `tenant ${id} OLAP`,
        tenantPlan.sessions.olapReader,
      );
      const refusal = await peekTenantLock(session, lock.statements, id, owner, takeOver);
      if (refusal) refused.set(id, refusal);
    } catch {
      // The tenant's own lock step reads it again, and fails with the reason if it must.
    } finally {
      await session?.close();
    }
  }
  if (refused.size > 0) {
    await journal.update(() => {
      for (const [id, message] of refused) journal.tenant(id).error = message;
    });
  }
  return refused;
}

/** A journal from before names were kept (a resumed run) gets them from this plan, for the report. */
async function recordAltScoreNames(journal: RunJournal, plan: Plan): Promise<void> {
  const missing = plan.tenants.filter(
    (tenant) => tenant.altScoreNames.length > 0 && !journal.tenant(tenant.tenant.id).altScores,
  );
  if (missing.length === 0) return;
  await journal.update(() => {
    for (const tenant of missing) journal.tenant(tenant.tenant.id).altScores = tenant.altScoreNames;
  });
}

/** Returns whether the tenant failed in the end. */
async function runWithRetries(
  plan: TenantPlan,
  context: TenantRunContext,
  options: RunOptions,
): Promise<boolean> {
  const attempts = options.attempts ?? DEFAULT_ATTEMPTS;
  const delay = options.retryDelayMs ?? DEFAULT_RETRY_DELAY_MS;
  const entry = context.journal.tenant(plan.tenant.id);
  for (let attempt = 1; ; attempt++) {
    const { error } = await runTenant(plan, context);
    if (error === undefined) return false;
    if (!isTransient(error) || attempt >= attempts) return true;
    const wait = delay * 4 ** (attempt - 1);
    context.warn(
      `tenant ${plan.tenant.id}: ${entry.error}; attempt ${attempt + 1} of ${attempts} in ${wait / 1000} s`,
    );
    await context.journal.update(() =>
      entry.retries.push({ at: new Date().toISOString(), error: entry.error ?? "" }),
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
      holdsMigrate(run.migrate) &&
      run.migrate.replicas != null &&
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
