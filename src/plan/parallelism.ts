import type { TenantPlan } from "./actions.js";

/** Tenants at once when every tenant runs server-side: this process then only waits on the clusters. */
export const SERVER_SIDE_PARALLEL = 4;

/** How many tenants a run works on at once, and why, as the plan shows it. */
export interface Parallelism {
  tenants: number;
  reason: string;
}

type ModesOf = Pick<TenantPlan, "tenant" | "extract" | "load" | "problems">;

/**
 * `--parallel` when given. Else one tenant at a time when any ready tenant streams its rows
 * through this process (the extract, or the COPY FROM STDIN): one such tenant already keeps two
 * cores busy, so a second would only slow both. When the warehouse writes every tenant's rows to
 * S3 and the OLAP server reads them from there, this process only waits on the clusters, and
 * SERVER_SIDE_PARALLEL tenants run at once.
 */
export function parallelism(tenants: readonly ModesOf[], requested?: number): Parallelism {
  if (requested !== undefined) return { tenants: requested, reason: `--parallel ${requested}` };
  const ready = tenants.filter((tenant) => tenant.problems.length === 0);
  const streaming = ready.find((tenant) => !tenant.extract.serverSide || !tenant.load.serverSide);
  if (streaming) {
    const { extract, load } = streaming;
    return {
      tenants: 1,
      reason:
        `tenant ${streaming.tenant.id} streams through this process (extract ${extract.mode}, load ${load.mode}), ` +
        "which one such tenant keeps busy",
    };
  }
  if (ready.length === 0) return { tenants: 1, reason: "no tenant is ready" };
  return {
    tenants: SERVER_SIDE_PARALLEL,
    reason: "every tenant runs server-side (the warehouse writes to S3, the OLAP server copies from S3)",
  };
}
