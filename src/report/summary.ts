import type { Check } from "../core/checks.js";
import type { Rejection } from "../core/rejections.js";
import type { AltScoreName, Plan } from "../plan/actions.js";
import type { RunOutcome } from "../run/execute.js";
import type { MigrateJournal, TenantJournal } from "../run/journal.js";
import type { StepName } from "../plan/actions.js";
import type { TenantDistribution } from "../steps/results.js";
import type { LoadError } from "../steps/results.js";
import type { TenantVerification } from "../steps/results.js";

export type TenantStatus = "succeeded" | "failed" | "skipped";

export interface TenantReport {
  tenant: string;
  status: TenantStatus;
  error?: string;
  olapSchema?: string;
  extractMode?: string;
  loadMode?: string;
  /** Rows Redshift's COPY refused (from `stl_load_errors`), when it refused any. */
  loadErrors?: LoadError[];
  stagingUri?: string;
  backupTable?: string;
  /** The alt scores' names from the journal (absent in older journals: the report shows the ids). */
  altScores?: AltScoreName[];
  /** Rows in `exam_alt_score` before the merge; absent when the tenant did not get that far. */
  rowsBefore?: number;
  /** Candidate rows read from the warehouse. */
  extracted: number;
  staged: number;
  rejected: Rejection[];
  loaded: number;
  replaced: number;
  kept: number;
  finalCount: number;
  durationMs: number;
  steps: { step: StepName; durationMs: number }[];
  /** The full verify at the end of the tenant. */
  verification?: TenantVerification;
  /** Transient failures that were retried. */
  retries?: { at: string; error: string }[];
  /** What the steps warned about (the back-fill went on). */
  warnings?: string[];
  checks: Check[];
}

export interface RunReport {
  runId: string;
  since: string;
  startedAt: string;
  finishedAt: string;
  ok: boolean;
  /** migrate-olap could not be stopped or started again. */
  migrateError?: string;
  /** What was done to migrate-olap: replicas remembered, when stopped and restarted. */
  migrate?: MigrateJournal;
  tenants: TenantReport[];
}

/** A report and what its charts show, both derived from the run's journal. */
export interface RunResult {
  report: RunReport;
  distributions: TenantDistribution[];
}

export function emptyTenantReport(tenant: string, status: TenantStatus, error?: string): TenantReport {
  return {
    tenant,
    status,
    ...(error === undefined ? {} : { error }),
    extracted: 0,
    staged: 0,
    rejected: [],
    loaded: 0,
    replaced: 0,
    kept: 0,
    finalCount: 0,
    durationMs: 0,
    steps: [],
    checks: [],
  };
}

/** A tenant's report, from its journal entry alone. */
export function tenantReport(id: string, entry: TenantJournal): TenantReport {
  const { extract, merge, check, verify } = entry.results;
  const failure = entry.failure ?? {};
  const status: TenantStatus =
    entry.skipped !== undefined ? "skipped" : entry.state === "verified" ? "succeeded" : "failed";
  const verification = verify ?? failure.verification;
  const checks = check?.checks ?? failure.checks ?? [];
  return {
    tenant: id,
    status,
    ...(status === "succeeded" ? {} : { error: entry.skipped ?? entry.error ?? "not run" }),
    olapSchema: entry.olapSchema,
    ...(entry.extractMode ? { extractMode: entry.extractMode } : {}),
    ...(entry.loadMode ? { loadMode: entry.loadMode } : {}),
    ...(failure.loadErrors ? { loadErrors: failure.loadErrors } : {}),
    stagingUri: entry.stagingUri,
    ...(entry.backupTable ? { backupTable: entry.backupTable } : {}),
    ...(entry.altScores ? { altScores: entry.altScores } : {}),
    ...(merge ? { rowsBefore: merge.liveBefore } : {}),
    extracted: extract?.rowsRead ?? 0,
    staged: extract?.rowsStaged ?? 0,
    rejected: [...(extract?.sourceRejections ?? []), ...(merge?.targetRejections ?? [])],
    loaded: merge?.loaded ?? 0,
    replaced: merge?.replaced ?? 0,
    kept: merge?.kept ?? 0,
    finalCount: merge?.liveAfter ?? 0,
    durationMs: entry.durationMs ?? 0,
    steps: entry.steps,
    ...(verification ? { verification } : {}),
    retries: entry.retries,
    ...(entry.warnings?.length ? { warnings: entry.warnings } : {}),
    checks,
  };
}

/** The run's report and chart data, derived from the plan and the journal the run kept. */
export function runResult(plan: Plan, outcome: RunOutcome): RunResult {
  const { data } = outcome.journal;
  const tenants = [
    ...plan.failed.map((failed) =>
      emptyTenantReport(failed.tenant.id, "failed", `preflight: ${failed.error}`),
    ),
    ...plan.tenants.map((tenant) => tenantReport(tenant.tenant.id, data.tenants[tenant.tenant.id]!)),
  ].sort((a, b) => a.tenant.localeCompare(b.tenant));
  const report: RunReport = {
    runId: plan.runId,
    since: plan.since,
    startedAt: outcome.startedAt,
    finishedAt: outcome.finishedAt,
    ok: data.status === "succeeded",
    ...(outcome.migrateError === undefined ? {} : { migrateError: outcome.migrateError }),
    ...(data.migrate ? { migrate: data.migrate } : {}),
    tenants,
  };
  const distributions = plan.tenants.flatMap((tenant): TenantDistribution[] => {
    // Journals of earlier versions have no levels in the merge's result: no charts for them.
    const levels = data.tenants[tenant.tenant.id]?.results.merge?.levels;
    return levels ? [{ tenant: tenant.tenant.id, ...levels }] : [];
  });
  return { report, distributions };
}
