import { planToJson, renderPlan } from "../../plan/render.js";
import { type ConfigOptions, controllerSpec, migrateControl, type MigrateOptions } from "../options.js";
import { planFor } from "./shared.js";
import { renderMigrateControl } from "./run.js";

export async function planCommand(
  options: ConfigOptions & MigrateOptions & { json?: boolean },
): Promise<number> {
  const control = migrateControl(controllerSpec(options), options.podsTimeout);
  const plan = await planFor(options);
  if (options.json) process.stdout.write(JSON.stringify(planToJson(plan), null, 2) + "\n");
  else process.stdout.write(renderMigrateControl(control) + renderPlan(plan));
  return plan.failed.length > 0 || plan.tenants.some((tenant) => tenant.problems.length > 0) ? 1 : 0;
}
