import type { Check } from "../core/checks.js";
import type { Rejection } from "../core/rejections.js";
import type { ResultStep } from "../plan/actions.js";
import type { LevelCell, OlderMissing, VerifyCheckResult } from "./verify-compare.js";

/**
 * What each step produces, in one module that imports no step, so that the steps, the journal
 * and the report can all name these types without depending on one another.
 */

export interface BackupResult {
  table: string;
  /** Rows copied; absent when an earlier attempt had made the backup. */
  rows?: number;
}

export interface StagedPart {
  name: string;
  bytes: number;
}

export interface ExtractResult {
  /** Candidate rows in the warehouse: staged plus rejected. */
  rowsRead: number;
  /** Rows written to the staged parts. */
  rowsStaged: number;
  /**
   * Parts staged, each listed in the manifest: a count rather than the list, since a large tenant
   * stages hundreds and the journal, which keeps this result, is written after every step.
   */
  parts: number;
  manifestName: string;
  /** Rows not staged because an alt value is NULL. */
  sourceRejections: Rejection[];
  /**
   * Whether two staged rows share an exam and alt score (twins), as this process saw them
   * stream by; absent when it cannot tell (the server wrote the parts, a line's exam or alt score
   * id was not a plain whole number, or the exam ids spread too wide for the watch's memory).
   */
  twins?: boolean;
}

export interface LoadResult {
  rowsCopied: number;
  parts: number;
}

export interface MergeResult {
  /** Rows in the staging table the merge read. */
  rowsCopied: number;
  liveBefore: number;
  /** Existing rows with the key of a back-filled row, deleted and replaced by it. */
  replaced: number;
  /** Back-filled rows inserted. */
  loaded: number;
  /** Existing rows left as they were. */
  kept: number;
  liveAfter: number;
  /** Keys held by more than one back-filled row, before COMMIT (must be none). */
  keysHeldTwice?: number;
  /**
   * Sums of row hashes modulo 2^32, before COMMIT: the live table after the DELETE, the
   * back-filled rows, and the live table after the INSERT, which must be the first two added.
   */
  checksums?: { afterReplace: number; backfilled: number; final: number };
  /** Journals written before the checksums: live rows sharing a key with a back-filled row. */
  liveSharingKey?: number;
  /** Journals written before the checksums: live rows equal in every column to a back-filled row. */
  liveEqual?: number;
  /** Staged rows not loaded, by reason. */
  targetRejections: Rejection[];
  /** The live table's alt scores per level, read in the transaction before the DELETE and after the INSERT. */
  levels?: { before: LevelCount[]; after: LevelCount[] };
}

/** Alt scores (rows of exam_alt_score) of one school year and alt score at one performance level. */
export interface LevelCount {
  schoolYear: number;
  subjectScoreId: number;
  level: number;
  scores: number;
}

/** The performance-level distribution of a tenant's exam_alt_score before and after the run's replace. */
export interface TenantDistribution {
  tenant: string;
  before: LevelCount[];
  after: LevelCount[];
}

export interface TenantVerification {
  tenant: string;
  olapSchema: string;
  ok: boolean;
  checks: VerifyCheckResult[];
  levels: LevelCell[];
  /**
   * `verify` only, information: OLAP exams older than the window whose alt scores the warehouse
   * has and `exam_alt_score` lacks, per school year, and the `--since` that brings them back.
   */
  older?: OlderMissing;
  error?: string;
}

/** What the steps of a tenant produced; the durable ones are kept in the journal. */
export interface StepResults extends Partial<Record<ResultStep, object>> {
  backup?: BackupResult;
  extract?: ExtractResult;
  load?: LoadResult;
  merge?: MergeResult;
  check?: { checks: Check[] };
  verify?: TenantVerification;
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

export type { OlderMissing };
