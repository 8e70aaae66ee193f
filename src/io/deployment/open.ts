import type { MigrateController } from "./controller.js";
import { CustomCommandController } from "./custom.js";
import { KubectlController } from "./kubectl.js";

/** How migrate-olap is controlled; kept in the journal so that a later command can restore it. */
export type ControllerSpec =
  | { kind: "kubectl"; deployment: string; namespace?: string; context?: string }
  | { kind: "custom"; quiesce: string; restore: string };

export const DEFAULT_PODS_TIMEOUT_MS = 10 * 60 * 1000;

export function openController(
  spec: ControllerSpec,
  podsTimeoutMs = DEFAULT_PODS_TIMEOUT_MS,
): MigrateController {
  return spec.kind === "custom"
    ? new CustomCommandController(spec.quiesce, spec.restore)
    : new KubectlController({
        deployment: spec.deployment,
        namespace: spec.namespace,
        context: spec.context,
        podsTimeoutMs,
      });
}
