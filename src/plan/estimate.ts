import { formatCount } from "../core/format.js";
import type { Action, Plan, StepName } from "./actions.js";
import { startsLargestFirst } from "./parallelism.js";

/** Rows a run back-fills per second, and where the number comes from. */
export interface RunRate {
  rowsPerSecond: number;
  source: string;
}

/**
 * Without an earlier run to learn from: the rate `npm run bench` measured for a default run (with
 * verify, streaming) on a 2-core machine: 2.84 million rows in 58 s. Server-side runs are faster.
 */
export const BENCHMARK_RATE: RunRate = {
  rowsPerSecond: 49_000,
  source: "the benchmark's rate on a 2-core machine; no earlier run in the journal folder",
};

/**
 * How long each step that handles the rows takes next to the extract, as `npm run bench` measured
 * them (2026-12-07, medians of both shapes on a 2-core machine: the extract 12.4–14.9 s, the merge
 * 13.9–16.8 s, verify 20.6–21.1 s). A load of its own reads the staged parts again; a load fed
 * during the extract only ends its COPY.
 */
const STEP_WEIGHTS: Partial<Record<StepName, number>> = { extract: 1, load: 1, merge: 1.1, verify: 1.5 };

/**
 * The extract's share of a tenant's time, from its actions: the run's ETA counts the rows its
 * extract has read for that share of the tenant, and the rest when the tenant is done, so that
 * it does not reach zero while the merge and verify are still to come.
 */
export function extractShare(actions: readonly Action[]): number {
  const loadAlongside = actions.some(
    (action) => action.step === "extract" && action.via === "this-process" && action.loadAlongside,
  );
  const weights = actions.map((action) =>
    action.step === "load" && loadAlongside ? 0 : (STEP_WEIGHTS[action.step] ?? 0),
  );
  const total = weights.reduce((sum, weight) => sum + weight, 0);
  return total > 0 ? STEP_WEIGHTS.extract! / total : 1;
}

const PROBLEM_LINES = 8;

/**
 * The plan's first screen: how many tenants, how many rows, how long, how many tenants at once,
 * and what stands in the way.
 */
export function planSummary(plan: Plan, rate: RunRate): string[] {
  const ready = plan.tenants.filter((tenant) => tenant.problems.length === 0);
  const rows = ready.reduce((sum, tenant) => sum + tenant.estimates.altScoreRowsApprox, 0);
  const exams = ready.reduce((sum, tenant) => sum + tenant.estimates.examsInWindow, 0);
  const problems = [
    ...plan.tenants.flatMap((tenant) => tenant.problems.map((problem) => `${tenant.tenant.id}: ${problem}`)),
    ...plan.failed.map((failed) => `${failed.tenant.id}: preflight failed: ${failed.error}`),
  ];
  const total = plan.tenants.length + plan.failed.length;
  const withProblems = plan.tenants.length - ready.length;
  const atOnce = plan.parallelism;
  return [
    `Summary: ${formatCount(total)} tenants: ${formatCount(ready.length)} ready, ${formatCount(withProblems)} with problems, ` +
      `${formatCount(plan.failed.length)} failed preflight`,
    `  to extract:  ~${formatCount(rows)} alt score rows from ~${formatCount(exams)} exams in the window (ready tenants)`,
    `  estimate:    ~${duration(rows / rate.rowsPerSecond)} at ${formatCount(Math.round(rate.rowsPerSecond))} rows/s (${rate.source})`,
    `  parallel:    ${atOnce.tenants === 1 ? "one tenant at a time" : `${formatCount(atOnce.tenants)} tenants at once`} (${atOnce.reason})`,
    ...(startsLargestFirst(atOnce.tenants, plan.tenants.length)
      ? [
          `  start order: ${atOnce.startOrder.join(", ")} (${withProblems > 0 ? "those with problems first, then " : ""}` +
            "the largest first, by the estimate of alt score rows)",
        ]
      : []),
    ...(problems.length === 0
      ? ["  problems:    none"]
      : [
          ...problems
            .slice(0, PROBLEM_LINES)
            .map((problem, index) => `  ${index === 0 ? "problems:   " : "            "} ${problem}`),
          ...(problems.length > PROBLEM_LINES
            ? [`              … and ${problems.length - PROBLEM_LINES} more, below`]
            : []),
        ]),
    "",
  ];
}

function duration(seconds: number): string {
  if (seconds < 60) return `${Math.max(1, Math.round(seconds))} s`;
  const minutes = Math.round(seconds / 60);
  return minutes < 60 ? `${minutes} min` : `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}
