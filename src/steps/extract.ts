import type { Writable } from "node:stream";
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

/** Also receives every staged chunk as it is written: the load's COPY, when it overlaps the extract. */
export interface ExtractSink {
  stream: Writable;
  /** Settles when the receiver is done or has failed; a failure stops the extract. */
  settled: Promise<unknown>;
}

/**
 * Stages the tenant's rows in its staging folder, through this process (one warehouse session
 * per range of exam ids) or by Aurora itself (the first session).
 */
export function extract(
  action: ExtractAction,
  warehouses: readonly WarehouseConnection[],
  staging: StagingStore,
  progress: StepProgress,
  sink?: ExtractSink,
): Promise<ExtractResult> {
  return action.mode === "aurora"
    ? auroraExtract(action, warehouses[0]!, staging, progress)
    : streamExtract(action, warehouses, staging, progress, sink);
}
