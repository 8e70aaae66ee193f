import { ConfigError } from "../../core/errors.js";
import { quotePg } from "../../dialects/postgres.js";
import { thisProcess } from "../../run/execute.js";
import { RunJournal } from "../../run/journal.js";
import {
  type BackupOfTenant,
  cleanupTenant,
  dropBackupStatement,
  rollbackStatements,
  rollbackTenant,
} from "../../run/rollback.js";
import type { JournalOptions, KeyOptions } from "../options.js";
import { configFor, confirm, optionsFromJournal, requireYesWithoutTerminal } from "./shared.js";

interface RollbackOptions extends JournalOptions, KeyOptions {
  tenant: string[];
  set: string[];
  yes?: boolean;
  takeOverLock?: boolean;
}

async function tenantsOf(
  journal: RunJournal,
  given: KeyOptions & { set: string[] },
  only: string[],
): Promise<(Omit<BackupOfTenant, "backupTable"> & { backupTable?: string })[]> {
  for (const id of only) journal.tenant(id); // refuses a tenant the run did not have
  const config = configFor(optionsFromJournal(journal, given));
  return config.tenants
    .filter((tenant) => only.length === 0 || only.includes(tenant.id))
    .map((tenant) => {
      const entry = journal.tenant(tenant.id);
      return {
        tenant: tenant.id,
        olap: tenant.olap,
        schema: entry.olapSchema,
        stagingUri: entry.stagingUri,
        ...(entry.olapDialect ? { dialect: entry.olapDialect } : {}),
        ...(entry.backupTable ? { backupTable: entry.backupTable } : {}),
      };
    });
}

export async function rollbackCommand(runId: string, options: RollbackOptions): Promise<number> {
  requireYesWithoutTerminal(options.yes, "rollback replaces exam_alt_score");
  const journal = await RunJournal.load(options.journalDir, runId);
  const targets = (await tenantsOf(journal, options, options.tenant)).filter(
    (target): target is BackupOfTenant => target.backupTable !== undefined,
  );
  if (targets.length === 0)
    throw new ConfigError(
      `run ${runId} has no backup for the selected tenants (--no-backup, or it stopped before)`,
    );
  const lines = [
    `Rollback of run ${runId}: each tenant's exam_alt_score becomes its backup again, in one transaction.`,
  ];
  lines.push(
    "Rows written to exam_alt_score after the backup (e.g. by migrate-olap since the run) are lost.",
  );
  for (const target of targets) {
    lines.push(
      `Tenant ${target.tenant}: ${quotePg(target.schema)}.exam_alt_score := ${quotePg(target.schema)}.${quotePg(target.backupTable)}`,
    );
    for (const statement of rollbackStatements(target)) lines.push(`   ${statement.sql};`);
  }
  process.stderr.write(lines.join("\n") + "\n");
  if (!options.yes && !(await confirm(`Roll back ${targets.map((t) => t.tenant).join(", ")}?`))) return 1;
  let failed = 0;
  for (const target of targets) {
    try {
      const result = await rollbackTenant(target, thisProcess(`rollback_${runId}`), {
        takeOver: Boolean(options.takeOverLock),
        warn: (message) => process.stderr.write(`rdw-backfill: warning: ${message}\n`),
      });
      process.stdout.write(
        `${target.tenant}: rolled back: ${result.rowsBefore} rows before, ${result.rowsAfter} rows now (the backup's)\n`,
      );
      await journal.update(() => (journal.tenant(target.tenant).rolledBackAt = new Date().toISOString()));
    } catch (error) {
      failed++;
      process.stdout.write(`${target.tenant}: rollback FAILED: ${(error as Error).message}\n`);
    }
  }
  return failed > 0 ? 1 : 0;
}

export async function cleanupCommand(
  runId: string,
  options: JournalOptions & KeyOptions & { set: string[]; yes?: boolean },
): Promise<number> {
  requireYesWithoutTerminal(options.yes, "cleanup drops the backup tables");
  const journal = await RunJournal.load(options.journalDir, runId);
  const targets = await tenantsOf(journal, options, []);
  const lines = [`Cleanup of run ${runId}: after this, rollback ${runId} is no longer possible.`];
  for (const target of targets) {
    if (target.backupTable)
      lines.push(
        `Tenant ${target.tenant}: ${dropBackupStatement({ ...target, backupTable: target.backupTable }).sql}`,
      );
    lines.push(`Tenant ${target.tenant}: drop the run's work tables if an interrupted attempt left them`);
    lines.push(`Tenant ${target.tenant}: delete the staged files in ${target.stagingUri}`);
  }
  process.stderr.write(lines.join("\n") + "\n");
  if (!options.yes && !(await confirm(`Clean up run ${runId}?`))) return 1;
  for (const target of targets) {
    const removed = await cleanupTenant(target, runId);
    process.stdout.write(`${target.tenant}: removed ${removed.join(", ")}\n`);
  }
  await journal.update((data) => (data.cleanedAt = new Date().toISOString()));
  return 0;
}
