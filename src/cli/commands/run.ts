import { join, resolve } from "node:path";
import { describeError, RuntimeError } from "../../core/errors.js";
import { openController } from "../../io/deployment/open.js";
import { mayBeAlive } from "../../io/process-alive.js";
import type { Plan } from "../../plan/actions.js";
import { renderPlan } from "../../plan/render.js";
import { measuredRate } from "../../run/rates.js";
import { renderSummaryTable, writeReportFiles } from "../../report/render.js";
import { runResult } from "../../report/summary.js";
import { renderVerification } from "../../report/verification.js";
import { createJournal, executePlan } from "../../run/execute.js";
import { journalCommand, RunJournal } from "../../run/journal.js";
import { describeLeave, restoreMigrate } from "../../steps/quiesce.js";
import type { ProgressSink } from "../../steps/progress.js";
import type { TenantVerification } from "../../steps/results.js";
import {
  type ConfigOptions,
  controllerSpec,
  type JournalOptions,
  type KeyOptions,
  type MigrateOptions,
  type RunOptions,
} from "../options.js";
import { barProgress, lineProgress } from "../progress-ui.js";
import { configFor, confirm, optionsFromJournal, planFor, requireYesWithoutTerminal } from "./shared.js";

type RunCommandOptions = ConfigOptions & MigrateOptions & JournalOptions & RunOptions & { newRun?: boolean };
type ResumeOptions = MigrateOptions & JournalOptions & RunOptions & KeyOptions & { set: string[] };

export async function runCommand(options: RunCommandOptions): Promise<number> {
  requireYesWithoutTerminal(options.yes, "run modifies exam_alt_score");
  const config = configFor(options);
  if (!options.newRun) {
    const unfinished = await unfinishedRunOf(
      options.journalDir,
      resolve(options.config),
      config.tenants.map((t) => t.id),
      config.since,
    );
    if (unfinished) {
      process.stderr.write(
        `Resuming run ${unfinished.data.runId}, which did not finish (--new-run starts another).\n`,
      );
      return resumeJournal(unfinished, options);
    }
  }
  const plan = await planFor(
    options,
    {
      migrate: controllerSpec(options),
      verify: options.verify,
      migrateWaitMs: options.migrateWait * 1000,
      ...(options.parallel ? { parallel: options.parallel } : {}),
    },
    config,
  );
  const command = journalCommand({
    configDir: resolve(options.config),
    tenants: config.tenants.map((t) => t.id),
    overrides: options.set,
    since: config.since,
    backup: options.backup,
    extract: options.extract,
    load: options.load,
    partBytes: options.partSize * 1024 * 1024,
    extractStreams: options.extractStreams,
    loadAfterExtract: options.loadAfterExtract,
    ...(options.encryptKeyFile ? { encryptKeyFile: resolve(options.encryptKeyFile) } : {}),
    ...(options.encryptKeyDir ? { encryptKeyDir: resolve(options.encryptKeyDir) } : {}),
  });
  return execute(plan, options, () => createJournal(plan, options.journalDir, command));
}

export async function resumeCommand(runId: string, options: ResumeOptions): Promise<number> {
  requireYesWithoutTerminal(options.yes, "resume modifies exam_alt_score");
  const journal = await RunJournal.load(options.journalDir, runId);
  if (journal.data.status === "succeeded") {
    process.stderr.write(`Run ${runId} already succeeded; nothing to resume.\n`);
    return 0;
  }
  return resumeJournal(journal, options);
}

async function resumeJournal(journal: RunJournal, options: ResumeOptions): Promise<number> {
  const { runId } = journal.data;
  const holder = journal.data;
  const alive =
    holder.status === "running" && holder.pid !== process.pid && mayBeAlive(holder.host, holder.pid);
  if (alive && !options.takeOverLock) {
    // Another run at work on these tenants: refused before anything is touched (exit code 1, as a locked tenant).
    throw new RuntimeError(
      `run ${runId} may still be running on ${Object.keys(holder.tenants).join(", ")} (host ${holder.host}, pid ${holder.pid}); ` +
        "wait for it, or --take-over-lock if it is dead",
    );
  }
  // migrate-olap is restored the way it was stopped, whatever this command line says.
  const migrate = journal.data.migrate?.controller ?? controllerSpec(options);
  const plan = await planFor(optionsFromJournal(journal, options), {
    runId,
    resuming: true,
    migrate,
    verify: options.verify,
    migrateWaitMs: options.migrateWait * 1000,
    ...(options.parallel ? { parallel: options.parallel } : {}),
  });
  return execute(plan, options, async () => {
    await journal.adopt();
    return journal;
  });
}

async function execute(
  plan: Plan,
  options: MigrateOptions & JournalOptions & RunOptions,
  openJournal: () => Promise<RunJournal>,
): Promise<number> {
  const rate = await measuredRate(options.journalDir);
  process.stderr.write(
    renderPlan(plan, {
      sql: false,
      ...(rate ? { rate } : {}),
    }) + "(rdw-backfill plan shows every statement)\n\n",
  );
  const runnable = plan.tenants.filter((t) => t.problems.length === 0).map((t) => t.tenant.id);
  if (
    !options.yes &&
    runnable.length > 0 &&
    !(await confirm(`Back-fill exam_alt_score for ${runnable.join(", ")}?`))
  ) {
    process.stderr.write("Nothing done.\n");
    return 1;
  }
  const journal = await openJournal();
  const ui = process.stderr.isTTY ? barProgress(process.stderr) : lineProgress(process.stderr);
  const running = new Set<string>();
  const progress: ProgressSink = {
    ...ui,
    tenantStarted(tenant) {
      running.add(tenant);
      ui.tenantStarted(tenant);
    },
    tenantEnded(tenant, end) {
      running.delete(tenant);
      ui.tenantEnded(tenant, end);
    },
  };
  const stopOnSignal = onSignals(async (signal) => {
    ui.stop();
    process.stderr.write(`\nrdw-backfill: ${signal}: stopping run ${plan.runId}\n`);
    if (plan.migrate) {
      // This run leaves migrate-olap's lease; the last run holding it starts it again.
      const controller = openController(plan.migrate.spec, options.podsTimeout * 1000, options.journalDir);
      const outcome = await restoreMigrate(controller, journal).catch((error: unknown) => {
        process.stderr.write(
          `rdw-backfill: migrate-olap could not be started again: ${describeError(error)}; run restore-migrate ${plan.runId}\n`,
        );
        return undefined;
      });
      if (outcome) process.stderr.write(`rdw-backfill: ${describeLeave(outcome)}\n`);
    }
    await journal.update((data) => {
      data.status = "interrupted";
      // Their open transactions die with this process; each is at its last durable step.
      for (const tenant of running) data.tenants[tenant]!.error = `interrupted by ${signal}`;
    });
    process.stderr.write(`rdw-backfill: resume with: rdw-backfill resume ${plan.runId}\n`);
  });
  try {
    const outcome = await executePlan(plan, {
      progress,
      failFast: Boolean(options.failFast),
      journal,
      journalDir: options.journalDir,
      podsTimeoutMs: options.podsTimeout * 1000,
      takeOverLock: Boolean(options.takeOverLock),
      attempts: options.attempts,
      ...(options.stopAfter ? { stopAfter: options.stopAfter } : {}),
      stallTimeoutMs: options.stallTimeout * 1000,
      warn: (message) => process.stderr.write(`rdw-backfill: warning: ${message}\n`),
    }).finally(() => ui.stop());
    const { report, distributions } = runResult(plan, outcome);
    const verifications = report.tenants
      .map((tenant) => tenant.verification)
      .filter((verification): verification is TenantVerification => verification !== undefined);
    if (verifications.length > 0) process.stderr.write(renderVerification(verifications));
    const dir = await writeReportFiles(
      report,
      options.reportDir ?? join("rdw-backfill-reports", report.runId),
      distributions,
    );
    if (options.json) process.stdout.write(JSON.stringify(report, null, 2) + "\n");
    else process.stdout.write(renderSummaryTable(report) + "\n");
    process.stderr.write(
      `Report written to ${dir}/report.html, summary.json and summary.md; journal in ${journal.dir}\n`,
    );
    if (outcome.journal.data.status === "stopped") {
      process.stderr.write(
        `rdw-backfill: --stop-after passed; tenants not started are left for: rdw-backfill resume ${plan.runId}\n`,
      );
      return EXIT_STOPPED;
    }
    return report.ok ? 0 : 1;
  } finally {
    stopOnSignal();
  }
}

/** The run ended at --stop-after with tenants not started (none failed). */
const EXIT_STOPPED = 3;

/**
 * On Ctrl-C, SIGTERM or SIGHUP (the SSH session that started the run dropped): every change to a
 * database is a transaction that dies with the process, so it is enough to start migrate-olap
 * again, record the interruption and exit (128 + the signal's number). After a hang-up the
 * terminal is gone and writing to it fails (EIO, EPIPE): those errors are ignored for as long as
 * the handlers are installed, so that nothing stops the clean-up; the journal and the report
 * files keep the record.
 */
function onSignals(cleanUp: (signal: NodeJS.Signals) => Promise<void>): () => void {
  const codes: Partial<Record<NodeJS.Signals, number>> = { SIGHUP: 129, SIGINT: 130, SIGTERM: 143 };
  let handling = false;
  const handler = (signal: NodeJS.Signals) => {
    if (handling) return;
    handling = true;
    void cleanUp(signal).finally(() => process.exit(codes[signal] ?? 1));
  };
  const terminalGone = () => undefined;
  for (const stream of [process.stdout, process.stderr]) stream.on("error", terminalGone);
  for (const signal of Object.keys(codes)) process.on(signal, handler);
  return () => {
    for (const signal of Object.keys(codes)) process.off(signal, handler);
    for (const stream of [process.stdout, process.stderr]) stream.off("error", terminalGone);
  };
}

/** The latest run of the same configuration, tenants and window that did not succeed. */
async function unfinishedRunOf(
  journalDir: string,
  configDir: string,
  tenants: string[],
  since: string,
): Promise<RunJournal | undefined> {
  const runs = await RunJournal.list(journalDir);
  const same = runs.filter(
    (run) =>
      run.status !== "succeeded" &&
      run.command.configDir === configDir &&
      run.command.since === since &&
      [...run.command.tenants].sort().join() === [...tenants].sort().join(),
  );
  const latest = same.at(-1);
  return latest ? RunJournal.load(journalDir, latest.runId) : undefined;
}
