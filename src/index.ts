/** Library API: the same pieces the command line is built from. */
export {
  resolveConfig,
  type BackfillConfig,
  type TenantConfig,
  type ConfigOptions,
} from "./config/settings.js";
export { buildPlan, DEFAULT_PART_BYTES, type PlanOptions } from "./plan/build.js";
export type { Action, Plan, TenantPlan, Statement } from "./plan/actions.js";
export { renderPlan, planToJson } from "./plan/render.js";
export { runPlan, type RunOptions } from "./run/execute.js";
export type { RunReport, TenantReport } from "./report/summary.js";
export { renderSummaryTable, renderSummaryMarkdown, writeReportFiles } from "./report/render.js";
export { silentProgress, type ProgressSink } from "./steps/progress.js";
export { ConfigError, RuntimeError } from "./errors.js";
