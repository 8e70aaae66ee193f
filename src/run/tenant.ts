import { describeError, StepFailedError } from "../core/errors.js";
import { openStaging } from "../io/staging/open.js";
import type { Action, StepName, TenantPlan } from "../plan/actions.js";
import { type LockOwner, type StepContext, TenantSessions } from "../steps/context.js";
import { runStep } from "../steps/index.js";
import type { ProgressSink } from "../steps/progress.js";
import type { FailureDetails } from "../steps/results.js";
import type { RunJournal, TenantState } from "./journal.js";
import { pausePoint } from "./pause-points.js";
import type { StepTurns } from "./turns.js";

export interface TenantRunContext {
  journal: RunJournal;
  progress: ProgressSink;
  owner: LockOwner;
  takeOverLock: boolean;
  /** migrate-olap, when the run holds it stopped. */
  migrate?: StepContext["migrate"];
  warn: (message: string) => void;
  /** How long a stream, a COPY or an upload may make no progress before the attempt fails. */
  stallMs: number;
  /** The steps that run for one tenant at a time, when several run at once (`plan/parallelism.ts`). */
  turns?: StepTurns;
}

/** The journal's word for how far a tenant got, after each durable step. */
const STATE_AFTER: Partial<Record<StepName, TenantState>> = {
  backup: "backed-up",
  extract: "extracted",
  merge: "merged",
};

/**
 * Runs one attempt of a tenant's actions: a plain loop. An action is skipped when the journal
 * (from an earlier attempt) or this attempt already holds the result that makes it unneeded;
 * otherwise it runs, and a durable result is written to the journal before the next action.
 * The `always` actions (the unlock) run at the end whatever happened. Returns the failure, if
 * any, for the caller to decide whether another attempt may help.
 */
export async function runTenant(plan: TenantPlan, run: TenantRunContext): Promise<{ error?: unknown }> {
  const { journal } = run;
  const id = plan.tenant.id;
  const entry = journal.tenant(id);
  if (entry.state === "verified") return {};
  if (plan.problems.length > 0) {
    await journal.update(() => (entry.error = `preflight: ${plan.problems.join("; ")}`));
    return { error: new Error(entry.error) };
  }
  const started = Date.now();
  await journal.update(() => {
    entry.attempts += 1;
    entry.steps = [];
    entry.skipped = undefined; // a resumed run gets to a tenant an earlier --fail-fast skipped
  });
  const context: StepContext = {
    tenant: plan,
    sessions: new TenantSessions(id, plan.tenant, plan.sessions),
    staging: openStaging(plan.stagingUri),
    progress: (step, expectedRows) => run.progress.step(id, step, expectedRows),
    results: { ...entry.results },
    attempt: {},
    owner: run.owner,
    takeOverLock: run.takeOverLock,
    ...(run.migrate ? { migrate: run.migrate } : {}),
    // Warnings go to the operator now and to the journal (saved with the next update), for the report.
    warn: (message) => {
      run.warn(message);
      (entry.warnings ??= []).push(message);
    },
    pause: pausePoint,
    stallMs: run.stallMs,
  };
  const runAction = async (action: Action) => {
    if (action.skipWhenDone.some((step) => context.results[step] !== undefined)) return;
    const giveBack = await run.turns?.take(action.step, id, () =>
      run.progress.info(id, `waits for its turn: ${action.step} runs for one tenant at a time`),
    );
    const stepStarted = Date.now();
    const produced = await runStep(action, context).finally(() => giveBack?.());
    Object.assign(context.results, produced);
    entry.steps.push({ step: action.step, durationMs: Date.now() - stepStarted });
    if (!action.durable) return;
    await journal.update(() => {
      Object.assign(entry.results, produced);
      if (produced.backup) entry.backupTable = produced.backup.table;
      entry.state = STATE_AFTER[action.step] ?? entry.state;
    });
  };
  try {
    for (const action of plan.actions) if (!action.always) await runAction(action);
    await journal.update(() => {
      entry.state = "verified";
      entry.error = undefined;
      entry.failure = undefined;
    });
    return {};
  } catch (error) {
    await journal.update(() => {
      entry.error = describeError(error);
      entry.failure = error instanceof StepFailedError ? (error.details as FailureDetails) : undefined;
    });
    return { error };
  } finally {
    // A COPY still open would hold the session the unlock needs: abandon it first.
    context.attempt.overlapped?.abort();
    // An attempt that failed leaves its work tables; the next one drops them before it loads.
    for (const action of plan.actions) if (action.always) await runAction(action).catch(() => undefined);
    await context.sessions.closeAll();
    await journal.update(() => (entry.durationMs = Date.now() - started));
  }
}
