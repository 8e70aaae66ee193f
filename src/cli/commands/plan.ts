import { planToJson, renderPlan } from "../../plan/render.js";
import { measuredRate } from "../../run/rates.js";
import { type ConfigOptions, controllerSpec, type JournalOptions, type MigrateOptions } from "../options.js";
import { planFor } from "./shared.js";

export async function planCommand(
  options: ConfigOptions &
    MigrateOptions &
    JournalOptions & { json?: boolean; verify?: boolean; parallel?: number },
): Promise<number> {
  const plan = await planFor(options, {
    migrate: controllerSpec(options),
    verify: options.verify ?? true,
    migrateWaitMs: options.migrateWait * 1000,
    ...(options.parallel ? { parallel: options.parallel } : {}),
  });
  if (options.json) process.stdout.write(JSON.stringify(planToJson(plan), null, 2) + "\n");
  else {
    const rate = await measuredRate(options.journalDir);
    process.stdout.write(
      renderPlan(plan, {
        sql: true,
        ...(rate ? { rate } : {}),
      }),
    );
  }
  return plan.failed.length > 0 || plan.tenants.some((tenant) => tenant.problems.length > 0) ? 1 : 0;
}
