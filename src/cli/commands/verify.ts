import type { Plan } from "../../plan/actions.js";
import { renderVerification } from "../../report/verification.js";
import { TenantSessions } from "../../steps/context.js";
import { verifyTenant } from "../../steps/verify.js";
import type { TenantVerification } from "../../steps/results.js";
import type { ConfigOptions, SelectionOptions } from "../options.js";
import { planFor } from "./shared.js";

/** Runs the plan's verify actions, tenant by tenant, with the same step `run` ends with. */
async function verifyPlan(plan: Plan): Promise<TenantVerification[]> {
  const results: TenantVerification[] = plan.failed.map((failed) => ({
    tenant: failed.tenant.id,
    olapSchema: "",
    ok: false,
    checks: [],
    levels: [],
    error: failed.error,
  }));
  for (const tenant of plan.tenants) {
    const sessions = new TenantSessions(tenant.tenant.id, tenant.tenant, tenant.sessions);
    try {
      for (const action of tenant.actions) {
        if (action.step === "verify") results.push(await verifyTenant(action, sessions, tenant.tenant.id));
      }
    } finally {
      await sessions.closeAll();
    }
  }
  return results;
}

export async function verifyCommand(options: SelectionOptions & { json?: boolean }): Promise<number> {
  // Discovery only (schema, alt score ids): the streaming modes need no server-side preflight to
  // read, and nothing is backed up, staged or loaded.
  const reading: ConfigOptions = {
    ...options,
    backup: false,
    partSize: 1,
    loadAfterExtract: false,
    extract: "stream",
    load: "auto",
  };
  const plan = await planFor(reading, { verifyOnly: true });
  const results = await verifyPlan(plan);
  process.stdout.write(options.json ? JSON.stringify(results, null, 2) + "\n" : renderVerification(results));
  return results.every((result) => result.ok) ? 0 : 1;
}
