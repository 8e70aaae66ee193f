import type { WarehouseConnection } from "../adapters/source/mysql.js";
import type { StagingStore } from "../adapters/staging/store.js";
import type { ExtractAction } from "../plan/actions.js";
import { auroraExtract } from "./extract-aurora.js";
import { streamExtract } from "./extract-stream.js";
import type { StepProgress } from "./progress.js";
import type { Rejection } from "./rejections.js";

export interface StagedPart {
  name: string;
  /** Rows in the part, when known (Aurora does not say). */
  rows?: number;
  bytes: number;
}

export interface ExtractResult {
  /** Candidate rows in the warehouse: staged plus rejected. */
  rowsRead: number;
  /** Rows written to the staged parts. */
  rowsStaged: number;
  parts: StagedPart[];
  manifestName: string;
  /** Rows not staged because an alt value is NULL. */
  sourceRejections: Rejection[];
}

/** Stages the tenant's rows in its staging folder, through this process or by Aurora itself. */
export function extract(
  action: ExtractAction,
  warehouse: WarehouseConnection,
  staging: StagingStore,
  progress: StepProgress,
): Promise<ExtractResult> {
  return action.mode === "aurora"
    ? auroraExtract(action, warehouse, staging, progress)
    : streamExtract(action, warehouse, staging, progress);
}
