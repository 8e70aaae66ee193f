import type { StepName } from "../plan/actions.js";
import type { ExtractMode, LoadMode } from "../plan/modes.js";
import type { MigrateJournal } from "../journal/journal.js";
import type { LoadError } from "../steps/load-redshift.js";
import type { TenantVerification } from "../verify/verify.js";
import type { Rejection } from "../steps/rejections.js";
import type { Check } from "../steps/verify.js";

export type TenantStatus = "succeeded" | "failed" | "skipped";

export interface TenantReport {
  tenant: string;
  status: TenantStatus;
  error?: string;
  olapSchema?: string;
  extractMode?: ExtractMode;
  loadMode?: LoadMode;
  /** Rows Redshift's COPY refused (from `stl_load_errors`), when it refused any. */
  loadErrors?: LoadError[];
  stagingUri?: string;
  backupTable?: string;
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
  /** The verify checks run at the end of `run`. */
  verification?: TenantVerification;
  /** Transient failures that were retried. */
  retries?: { at: string; error: string }[];
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
