import Table from "cli-table3";
import { ConfigError } from "../../core/errors.js";
import { openController } from "../../io/deployment/open.js";
import { mayBeAlive } from "../../io/process-alive.js";
import { type JournalData, RunJournal } from "../../run/journal.js";
import {
  describeHolder,
  describeLeave,
  holdsMigrate,
  leaveLease,
  restoreMigrate,
} from "../../steps/quiesce.js";
import { type JournalOptions, type MigrateTargetOptions, targetSpec } from "../options.js";

export async function statusCommand(
  runId: string | undefined,
  options: JournalOptions & { json?: boolean },
): Promise<number> {
  const id = runId ?? (await RunJournal.list(options.journalDir)).at(-1)?.runId;
  if (!id) throw new ConfigError(`no runs in ${options.journalDir}`);
  const { data } = await RunJournal.load(options.journalDir, id);
  if (options.json) {
    process.stdout.write(JSON.stringify(data, null, 2) + "\n");
    return 0;
  }
  const lines = [
    `Run ${data.runId}: ${data.status} (started ${data.createdAt}, last update ${data.updatedAt}, host ${data.host}, pid ${data.pid})`,
    `Configuration ${data.command.configDir}, exams updated since ${data.command.since} UTC`,
    `migrate-olap: ${describeMigrate(data)}`,
    `Journal copy: ${data.stagingCopy}journal.json`,
  ];
  const table = new Table({
    head: ["tenant", "state", "attempts", "extracted", "loaded", "replaced", "backup", "last error"],
    style: { head: [], border: [] },
    wordWrap: true,
    colWidths: [null, null, null, null, null, null, null, 50] as unknown as number[],
  });
  for (const [id, tenant] of Object.entries(data.tenants)) {
    table.push([
      id,
      tenant.state,
      String(tenant.attempts),
      String(tenant.results.extract?.rowsRead ?? ""),
      String(tenant.results.merge?.loaded ?? ""),
      String(tenant.results.merge?.replaced ?? ""),
      tenant.backupTable ? `${tenant.olapSchema}.${tenant.backupTable}` : "",
      tenant.state === "verified" ? "" : (tenant.error ?? ""),
    ]);
  }
  process.stdout.write([...lines, table.toString(), ""].join("\n"));
  return 0;
}

export async function historyCommand(options: JournalOptions & { json?: boolean }): Promise<number> {
  const runs = await RunJournal.list(options.journalDir);
  if (options.json) {
    process.stdout.write(JSON.stringify(runs.map(summary), null, 2) + "\n");
    return 0;
  }
  if (runs.length === 0) {
    process.stdout.write(`No runs in ${options.journalDir}\n`);
    return 0;
  }
  const table = new Table({
    head: ["run", "started", "status", "tenants done", "migrate-olap"],
    style: { head: [], border: [] },
  });
  for (const run of runs) {
    const s = summary(run);
    table.push([s.runId, s.createdAt, s.status, `${s.tenantsDone}/${s.tenants}`, describeMigrate(run)]);
  }
  process.stdout.write(table.toString() + "\n");
  return 0;
}

/**
 * Leaves migrate-olap's lease for every run (or the given one) that died holding it; the last
 * holder to go starts migrate-olap again with the lease's count. A run that may still be running
 * is left alone unless --take-over-lock, which also drops holders on other hosts (nothing here
 * can prove them dead). When no run in the journal folder holds it, the lease of the deployment
 * the options name is cleaned the same way (runs from other folders or machines).
 */
export async function restoreMigrateCommand(
  runId: string | undefined,
  options: JournalOptions & MigrateTargetOptions & { takeOverLock?: boolean },
): Promise<number> {
  const takeOver = Boolean(options.takeOverLock);
  const warn = (message: string) => process.stderr.write(`rdw-backfill: warning: ${message}\n`);
  const runs = runId
    ? [(await RunJournal.load(options.journalDir, runId)).data]
    : await RunJournal.list(options.journalDir);
  const holding = runs.filter((run) => holdsMigrate(run.migrate));
  let code = 0;
  for (const run of holding) {
    const alive = run.status === "running" && mayBeAlive(run.host, run.pid);
    if (alive && !takeOver) {
      process.stdout.write(
        `Run ${run.runId}: may still be running (host ${run.host}, pid ${run.pid}); left alone (--take-over-lock if it is dead).\n`,
      );
      code = 1;
      continue;
    }
    const journal = await RunJournal.load(options.journalDir, run.runId);
    const controller = openController(run.migrate!.controller, undefined, options.journalDir);
    const outcome = await restoreMigrate(controller, journal, { takeOver, warn });
    if (outcome) process.stdout.write(`Run ${run.runId}: ${describeLeave(outcome)}.\n`);
  }
  if (runId !== undefined || holding.length > 0) return code;
  const controller = openController(targetSpec(options), undefined, options.journalDir);
  const outcome = await leaveLease(controller, { takeOver });
  for (const { holder, why } of outcome.dropped) {
    process.stdout.write(
      `${describeHolder(holder)}: dropped from migrate-olap's lease (${why === "gone" ? "that process is gone" : "--take-over-lock"}).\n`,
    );
  }
  if (outcome.restored === undefined && outcome.heldBy.length === 0) {
    process.stdout.write(
      `Nothing to restore: no run in ${options.journalDir} left migrate-olap stopped, and ${controller.leaseLocation} hold no lease.\n`,
    );
    return 0;
  }
  process.stdout.write(`${describeLeave(outcome)}.\n`);
  return 0;
}

function summary(run: JournalData) {
  const tenants = Object.values(run.tenants);
  return {
    runId: run.runId,
    createdAt: run.createdAt,
    status: run.status,
    tenants: tenants.length,
    tenantsDone: tenants.filter((t) => t.state === "verified").length,
    migrate: run.migrate,
  };
}

function describeMigrate(run: JournalData): string {
  const migrate = run.migrate;
  if (!migrate) return "not touched";
  if (migrate.handedOverTo) return `restoring handed over to run ${migrate.handedOverTo}`;
  if (migrate.restoredAt) return `restored to ${migrate.replicas} replicas at ${migrate.restoredAt}`;
  if (migrate.releasedAt) {
    return migrate.keptStoppedFor?.length
      ? `left stopped at ${migrate.releasedAt} for run ${migrate.keptStoppedFor.join(", ")} (the last run holding the lease restores it)`
      : `lease left at ${migrate.releasedAt}`;
  }
  if (migrate.replicas == null) {
    return `stopping since ${migrate.quiescedAt}, count not recorded yet (rdw-backfill restore-migrate ${run.runId} if the run is gone)`;
  }
  return `STOPPED since ${migrate.quiescedAt}; ${migrate.replicas} replicas to restore (rdw-backfill restore-migrate ${run.runId})`;
}
