import type { Check } from "../core/checks.js";
import type { ResultStep } from "../plan/actions.js";
import type { BackupResult } from "./backup.js";
import type { ExtractResult } from "./extract.js";
import type { LoadResult } from "./load.js";
import type { MergeResult } from "./merge.js";
import type { TenantDistribution } from "./report-reads.js";
import type { TenantVerification } from "./verify.js";

/** What the steps of a tenant produced; the durable ones are kept in the journal. */
export interface StepResults extends Partial<Record<ResultStep, object>> {
  backup?: BackupResult;
  extract?: ExtractResult;
  load?: LoadResult;
  merge?: MergeResult;
  check?: { checks: Check[] };
  verify?: TenantVerification;
  "report-reads"?: TenantDistribution;
}

/** A row Redshift's COPY refused, from `stl_load_errors`. */
export interface LoadError {
  line: number;
  column: string;
  reason: string;
  value: string;
}

/** What a failed step leaves for the report beyond its message. */
export interface FailureDetails {
  loadErrors?: LoadError[];
  checks?: Check[];
  verification?: TenantVerification;
}
