import { setTimeout as sleep } from "node:timers/promises";
import { RuntimeError } from "../core/errors.js";
import type { CheckMigrateAction } from "../plan/actions.js";
import type { StepContext } from "./context.js";

const POLL_MS = 1000;

/**
 * Before the replace: migrate-olap must still be stopped. If someone started it (an autoscaler,
 * a GitOps sync, a person), the tenant waits, saying what for, until it is stopped again or the
 * wait is over; then the tenant fails before the replace's transaction begins, so nothing is
 * half-way (a resume goes on from the load).
 */
export async function checkMigrate(action: CheckMigrateAction, context: StepContext): Promise<void> {
  const migrate = context.migrate;
  if (!migrate) return;
  const tenant = context.tenant.tenant.id;
  const deadline = Date.now() + action.waitMs;
  let waited = false;
  for (;;) {
    const state = await migrate.running();
    if (!state) return; // custom commands cannot tell; the plan says so
    if (state.replicas === 0 && state.pods === 0) {
      if (waited) context.warn(`tenant ${tenant}: migrate-olap is stopped again; the replace goes on`);
      return;
    }
    const what =
      `migrate-olap (${migrate.description}) is running again: ${state.replicas} replicas, ${state.pods} pods ` +
      "(an autoscaler, a GitOps sync or a person started it while this run holds it stopped)";
    if (Date.now() >= deadline) {
      throw new RuntimeError(
        `${what}; waited ${action.waitMs / 1000} s: the replace of exam_alt_score was not begun and the table is unchanged; ` +
          "stop migrate-olap (suspend what starts it, scale it to 0), then resume this run",
      );
    }
    if (!waited) {
      context.warn(
        `tenant ${tenant}: ${what}; waiting up to ${action.waitMs / 1000} s for it to be stopped again before the replace`,
      );
      waited = true;
    }
    await sleep(Math.min(POLL_MS, Math.max(0, deadline - Date.now())));
  }
}
