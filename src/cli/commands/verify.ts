import { chooseDriver } from "../../plan/sql/warehouse.js";
import { buildPlan } from "../../plan/build.js";
import type { Plan } from "../../plan/actions.js";
import { renderVerification, type TenantVerification, verifyTenant } from "../../verify/verify.js";
import type { ConfigOptions } from "../options.js";
import { configFor } from "./shared.js";

/** Verifies the plan's tenants (all, or those named), one after the other. */
export async function verifyPlanTenants(
  plan: Plan,
  only?: ReadonlySet<string>,
): Promise<TenantVerification[]> {
  const results: TenantVerification[] = plan.failed
    .filter((failed) => !only || only.has(failed.tenant.id))
    .map((failed) => ({
      tenant: failed.tenant.id,
      olapSchema: "",
      ok: false,
      checks: [],
      levels: [],
      error: failed.error,
    }));
  for (const tenant of plan.tenants) {
    if (only && !only.has(tenant.tenant.id)) continue;
    results.push(
      await verifyTenant({
        tenant: tenant.tenant,
        olapSchema: tenant.olapSchema,
        altScoreIds: tenant.altScoreIds,
        since: plan.since,
        driver: chooseDriver(tenant.estimates.examsInWindow, tenant.estimates.examRowsApprox),
      }),
    );
  }
  return results;
}

export async function verifyCommand(options: ConfigOptions & { json?: boolean }): Promise<number> {
  // Discovery only (schema, alt score ids); no mode-specific preflight is needed to read.
  const plan = await buildPlan(configFor(options), {
    backup: false,
    partBytes: 1,
    extract: "stream",
    load: "postgres",
  });
  const results = await verifyPlanTenants(plan);
  process.stdout.write(options.json ? JSON.stringify(results, null, 2) + "\n" : renderVerification(results));
  return results.every((result) => result.ok) ? 0 : 1;
}
