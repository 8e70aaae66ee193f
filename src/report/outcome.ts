import type { TenantReport } from "./summary.js";

/** Warnings the steps recorded, and transient failures that were retried. */
export const warningCount = (tenant: TenantReport): number =>
  (tenant.warnings?.length ?? 0) + (tenant.retries?.length ?? 0);

export type Outcome = "failed" | "warned" | "succeeded" | "skipped";

/** How a tenant ended, as the overview says it: a tenant that succeeded with warnings is "warned". */
export function outcomeOf(tenant: TenantReport): Outcome {
  return tenant.status === "succeeded" && warningCount(tenant) > 0 ? "warned" : tenant.status;
}

export const OUTCOME_TEXT: Record<Outcome, string> = {
  failed: "failed",
  warned: "succeeded with warnings",
  succeeded: "succeeded",
  skipped: "skipped",
};

/** The count checks and verify's checks, passed and failed. */
export function checkCounts(tenant: TenantReport): { ok: number; failed: number } {
  const all = [...tenant.checks, ...(tenant.verification?.checks ?? [])];
  const ok = all.filter((check) => check.ok).length;
  return { ok, failed: all.length - ok };
}

const RANK = { failed: 0, warned: 1, succeeded: 2, skipped: 2 } as const;

/** Failed tenants first, then warned ones, then the rest; each group in run order (the report's). */
export function overviewOrder(tenants: readonly TenantReport[]): TenantReport[] {
  return tenants
    .map((tenant, index) => ({ tenant, index, rank: RANK[outcomeOf(tenant)] }))
    .sort((a, b) => a.rank - b.rank || a.index - b.index)
    .map(({ tenant }) => tenant);
}
