import type { StepName, TenantPlan } from "./actions.js";

/** Tenants at once when every tenant runs server-side: this process then only waits on the clusters. */
export const SERVER_SIDE_PARALLEL = 4;

/**
 * The steps that, when a tenant streams through this process, run for one tenant at a time
 * (each step its own turn): one such step keeps this machine's cores busy, so two extracts at
 * once only slow each other, while one tenant's extract (mostly the warehouse's work) beside
 * another's merge (the OLAP server's) overlaps what a single tenant does one after the other.
 */
export const STREAMING_TURN_STEPS: readonly StepName[] = ["extract", "load", "merge", "verify"];

/** How many tenants a run works on at once, which steps take turns among them, and why, as the plan shows it. */
export interface Parallelism {
  tenants: number;
  reason: string;
  /** Steps that run for one tenant at a time, whatever the number of tenants under way. */
  oneAtATime: readonly StepName[];
}

type ModesOf = Pick<TenantPlan, "tenant" | "extract" | "load" | "problems">;

/**
 * `--parallel` when given. Else one tenant at a time when any ready tenant streams its rows
 * through this process (the extract, or the COPY FROM STDIN): one such tenant already keeps two
 * cores busy, so a second would only slow both. When the warehouse writes every tenant's rows to
 * S3 and the OLAP server reads them from there, this process only waits on the clusters, and
 * SERVER_SIDE_PARALLEL tenants run at once. With more than one tenant at once and a tenant that
 * streams, the streaming steps take turns (STREAMING_TURN_STEPS).
 */
export function parallelism(tenants: readonly ModesOf[], requested?: number): Parallelism {
  const ready = tenants.filter((tenant) => tenant.problems.length === 0);
  const streaming = ready.find((tenant) => !tenant.extract.serverSide || !tenant.load.serverSide);
  if (requested !== undefined) {
    const turns = requested > 1 && streaming !== undefined;
    return {
      tenants: requested,
      reason:
        `--parallel ${requested}` +
        (turns
          ? `; as tenant ${streaming.tenant.id} streams through this process, ` +
            `${STREAMING_TURN_STEPS.join(", ")} run for one tenant at a time`
          : ""),
      oneAtATime: turns ? STREAMING_TURN_STEPS : [],
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
    };
  }
  if (ready.length === 0) return { tenants: 1, reason: "no tenant is ready", oneAtATime: [] };
  return {
    tenants: SERVER_SIDE_PARALLEL,
    reason: "every tenant runs server-side (the warehouse writes to S3, the OLAP server copies from S3)",
    oneAtATime: [],
  };
}
