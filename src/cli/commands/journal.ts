import Table from "cli-table3";
import { ConfigError } from "../../core/errors.js";
import { openController } from "../../io/deployment/open.js";
import { type JournalData, RunJournal } from "../../run/journal.js";
import { restoreMigrate } from "../../steps/quiesce.js";
import type { JournalOptions } from "../options.js";

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

/** Starts migrate-olap again for every run (or the given one) that left it stopped. */
export async function restoreMigrateCommand(
  runId: string | undefined,
  options: JournalOptions,
): Promise<number> {
  const runs = runId
    ? [(await RunJournal.load(options.journalDir, runId)).data]
    : await RunJournal.list(options.journalDir);
  const stranded = runs.filter((run) => run.migrate?.replicas != null && !run.migrate.restoredAt);
  if (stranded.length === 0) {
    process.stdout.write(`Nothing to restore: no run in ${options.journalDir} left migrate-olap stopped.\n`);
    return 0;
  }
  for (const run of stranded) {
    const journal = await RunJournal.load(options.journalDir, run.runId);
    const replicas = await restoreMigrate(openController(run.migrate!.controller), journal);
    process.stdout.write(`Run ${run.runId}: migrate-olap restored to ${replicas} replicas.\n`);
  }
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
  return `STOPPED since ${migrate.quiescedAt}; ${migrate.replicas} replicas to restore (rdw-backfill restore-migrate ${run.runId})`;
}
