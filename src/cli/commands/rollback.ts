import { ConfigError } from "../../core/errors.js";
import { quotePg } from "../../dialects/postgres.js";
import { thisProcess } from "../../run/execute.js";
import { RunJournal } from "../../run/journal.js";
import { cleanupStatements, cleanupTenant } from "../../run/cleanup.js";
import {
  type BackupOfTenant,
  type RollbackResult,
  type RollbackScope,
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
  wholeTable?: boolean;
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
  const scope: RollbackScope = options.wholeTable ? "whole-table" : "keys";
  const lines = [...ROLLBACK_INTRO[scope](runId)];
  for (const target of targets) {
    lines.push(
      `Tenant ${target.tenant}: ${quotePg(target.schema)}.exam_alt_score from ${quotePg(target.schema)}.${quotePg(target.backupTable)}`,
    );
    for (const statement of rollbackStatements(target, runId, scope))
      lines.push(`   ${statement.sql.replace(/\n/g, "\n   ")};`);
  }
  lines.push(...(await laterRuns(options.journalDir, runId, targets)));
  process.stderr.write(lines.join("\n") + "\n");
  if (!options.yes && !(await confirm(`Roll back ${targets.map((t) => t.tenant).join(", ")}?`))) return 1;
  let failed = 0;
  for (const target of targets) {
    try {
      const result = await rollbackTenant(target, runId, thisProcess(`rollback_${runId}`), {
        takeOver: Boolean(options.takeOverLock),
        warn: (message) => process.stderr.write(`rdw-backfill: warning: ${message}\n`),
        scope,
      });
      process.stdout.write(`${target.tenant}: rolled back: ${describeResult(result)}\n`);
      await journal.update(() => (journal.tenant(target.tenant).rolledBackAt = new Date().toISOString()));
    } catch (error) {
      failed++;
      process.stdout.write(`${target.tenant}: rollback FAILED: ${(error as Error).message}\n`);
    }
  }
  return failed > 0 ? 1 : 0;
}

const ROLLBACK_INTRO: Record<RollbackScope, (runId: string) => string[]> = {
  keys: (runId) => [
    `Rollback of run ${runId}, one transaction per tenant: for each key (school_year, asmt_id, student_id, subject_score_id) that holds`,
    "a back-filled row (migrate_id -1) and other rows than the run's backup, the back-filled rows are removed and the backup's rows for that key are put back.",
    "Keys migrate-olap rewrote since (another migrate_id, or the row gone) keep what migrate-olap wrote; rows at other keys are not touched.",
  ],
  "whole-table": (runId) => [
    `Rollback of run ${runId} (--whole-table): each tenant's exam_alt_score becomes its backup again, in one transaction.`,
    "Rows written to exam_alt_score after the backup (e.g. by migrate-olap since the run) are lost.",
  ],
};

/** Later runs in the journal folder that back-filled these tenants again and were not rolled back. */
async function laterRuns(journalDir: string, runId: string, targets: BackupOfTenant[]): Promise<string[]> {
  return (await RunJournal.list(journalDir))
    .filter((run) => run.runId > runId)
    .flatMap((run) =>
      targets
        .filter(({ tenant }) => run.tenants[tenant]?.results.merge && !run.tenants[tenant]?.rolledBackAt)
        .map(
          ({ tenant }) =>
            `WARNING: run ${run.runId} back-filled tenant ${tenant} after this run: roll it back first, ` +
            "or this rollback also undoes its back-filled rows",
        ),
    );
}

function describeResult(result: RollbackResult): string {
  const rows = `${result.rowsBefore} rows before, ${result.rowsAfter} rows now`;
  if (!result.keys) return `${rows} (the backup's)`;
  const { restored, removed, putBack } = result.keys;
  if (restored === 0) return `no key holds back-filled rows other than the backup's; ${rows}`;
  return (
    `${restored} keys held back-filled rows other than the backup's: ${removed} back-filled rows removed, ` +
    `${putBack} backup rows put back; keys migrate-olap wrote since left as they are; ${rows}`
  );
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
    for (const statement of cleanupStatements(target, runId))
      lines.push(`Tenant ${target.tenant}: ${statement.sql}`);
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
