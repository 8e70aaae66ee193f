import type { Parallelism, StepName, TenantPlan } from "./actions.js";

/** Tenants at once when every tenant runs server-side: this process then only waits on the clusters. */
export const SERVER_SIDE_PARALLEL = 4;

/**
 * The steps that, when a tenant streams through this process, run for one tenant at a time
 * (each step its own turn): one such step keeps this machine's cores busy (the extract reads its
 * id ranges at once; verify sums them at once), so two at once only slow each other. The merge
 * takes no turn: with tenants at once its statements run in one process each
 * (`Parallelism.oneProcessPerSession`), so a merge keeps one core busy and fills what an extract
 * or another merge leaves. On the benchmark's 4-tenant deployment (2 cores), merges taking turns
 * with parallel workers ran `--parallel 4` at 1.05–1.09× the time of `--parallel 1`; either
 * change alone gained nothing; both together: 0.71–1.00× in eleven rounds (median 0.87×).
 */
export const STREAMING_TURN_STEPS: readonly StepName[] = ["extract", "load", "verify"];

type ParallelismInput = Pick<TenantPlan, "tenant" | "extract" | "load" | "problems" | "estimates">;

/**
 * `--parallel` when given. Else one tenant at a time when any ready tenant streams its rows
 * through this process (the extract, or the COPY FROM STDIN): one such tenant already keeps most
 * of two cores busy and keeps its servers' parallel workers; more at once gain only the idle
 * share (README, "Tenants at once"), so they are asked for with `--parallel`. When the warehouse
 * writes every tenant's rows to S3 and the OLAP server reads them from there, this process only
 * waits on the clusters, and SERVER_SIDE_PARALLEL tenants run at once. When more than one ready tenant can run at once, the
 * OLAP sessions run a statement in one process, and with a tenant that streams, the streaming
 * steps take turns (STREAMING_TURN_STEPS).
 */
export function parallelism(tenants: readonly ParallelismInput[], requested?: number): Parallelism {
  const chosen = tenantsAtOnce(tenants, requested);
  return { ...chosen, startOrder: startOrder(tenants, chosen.tenants) };
}

/**
 * The order the tenants start in. With more than one at once, the largest first (by the plan's
 * estimate of alt score rows; on a tie, in the configuration's order): a run ends when its last
 * tenant does, and the last to start is then a small one (longest processing time first). Tenants
 * with problems come before all: they fail at once, and the run reports them first. A
 * tenant waiting for a turn is served in this order too (`StepTurns`): a large tenant whose
 * backup took longer does not queue behind small ones for its extract. One at a time, every
 * order takes as long: the configuration's.
 */
function startOrder(tenants: readonly ParallelismInput[], atOnce: number): string[] {
  const ordered = startsLargestFirst(atOnce, tenants.length)
    ? [...tenants].sort(
        (a, b) =>
          Number(a.problems.length === 0) - Number(b.problems.length === 0) ||
          b.estimates.altScoreRowsApprox - a.estimates.altScoreRowsApprox,
      )
    : tenants;
  return ordered.map((tenant) => tenant.tenant.id);
}

/** Whether the start order is by size: more than one tenant, and more than one at once. */
export function startsLargestFirst(atOnce: number, tenantCount: number): boolean {
  return Math.min(atOnce, tenantCount) > 1;
}

/** The tenants in `order` (ids in the plan's start order); a tenant it does not name goes last. */
export function inStartOrder<T extends { tenant: { id: string } }>(
  tenants: readonly T[],
  order: readonly string[],
): T[] {
  const rank = startRanks(order);
  return [...tenants].sort((a, b) => rank(a.tenant.id) - rank(b.tenant.id));
}

/** A tenant id's place in the start order; an id it does not name comes after all it names. */
export function startRanks(order: readonly string[]): (tenantId: string) => number {
  const ranks = new Map(order.map((id, index) => [id, index]));
  return (tenantId) => ranks.get(tenantId) ?? order.length;
}

function tenantsAtOnce(
  tenants: readonly ParallelismInput[],
  requested?: number,
): Omit<Parallelism, "startOrder"> {
  const ready = tenants.filter((tenant) => tenant.problems.length === 0);
  const streaming = ready.find((tenant) => !tenant.extract.serverSide || !tenant.load.serverSide);
  if (requested !== undefined) {
    const shared = Math.min(requested, ready.length) > 1;
    const turns = shared && streaming !== undefined;
    return {
      tenants: requested,
      reason:
        `--parallel ${requested}` +
        (turns
          ? `; as tenant ${streaming.tenant.id} streams through this process, ` +
            `${STREAMING_TURN_STEPS.join(", ")} run for one tenant at a time`
          : "") +
        (shared ? `; ${ONE_PROCESS_REASON}` : ""),
      oneAtATime: turns ? STREAMING_TURN_STEPS : [],
      oneProcessPerSession: shared,
    };
  }
  if (streaming) {
    const { extract, load } = streaming;
    return {
      tenants: 1,
      reason:
        `tenant ${streaming.tenant.id} streams through this process (extract ${extract.mode}, load ${load.mode}), ` +
        "which one such tenant keeps busy",
      oneAtATime: [],
      oneProcessPerSession: false,
    };
  }
  if (ready.length === 0)
    return { tenants: 1, reason: "no tenant is ready", oneAtATime: [], oneProcessPerSession: false };
  const shared = ready.length > 1;
  return {
    tenants: SERVER_SIDE_PARALLEL,
    reason:
      "every tenant runs server-side (the warehouse writes to S3, the OLAP server copies from S3)" +
      (shared ? `; ${ONE_PROCESS_REASON}` : ""),
    oneAtATime: [],
    oneProcessPerSession: shared,
  };
}

const ONE_PROCESS_REASON = "each OLAP session runs a statement in one process where its engine has a choice";
