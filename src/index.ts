/** Library API: the same pieces the command line is built from. */
import type { Plan } from "./plan/actions.js";
import { executePlan, type RunOptions } from "./run/execute.js";
import { type RunReport, runResult } from "./report/summary.js";

export {
  resolveConfig,
  type BackfillConfig,
  type TenantConfig,
  type ConfigOptions,
} from "./config/settings.js";
export { buildPlan, DEFAULT_PART_BYTES, type PlanOptions } from "./plan/build.js";
export type { Action, Plan, TenantPlan } from "./plan/actions.js";
export type { Statement } from "./core/statement.js";
export { renderPlan, planToJson } from "./plan/render.js";
export { executePlan, type RunOptions, type RunOutcome } from "./run/execute.js";
export type { RunReport, TenantReport } from "./report/summary.js";
export { runResult } from "./report/summary.js";
export { renderSummaryTable, renderSummaryMarkdown, writeReportFiles } from "./report/render.js";
export { silentProgress, type ProgressSink } from "./steps/progress.js";
export { ConfigError, RuntimeError } from "./core/errors.js";

/** Runs a plan and returns its report, derived from the run's journal. */
export async function runPlan(plan: Plan, options: RunOptions): Promise<RunReport> {
  return runResult(plan, await executePlan(plan, options)).report;
}
