import { join, resolve } from "node:path";
import type { MigrateController } from "./controller.js";
import { CustomCommandController } from "./custom.js";
import { KubectlController } from "./kubectl.js";

/** How migrate-olap is controlled; kept in the journal so that a later command can restore it. */
export type ControllerSpec =
  | { kind: "kubectl"; deployment: string; namespace?: string; context?: string }
  | {
      kind: "custom";
      quiesce: string;
      restore: string;
      /** The lease file, absolute (absent in journals of runs before the lease: `migrate-lease.json` in the journal folder). */
      leaseFile?: string;
    };

export const DEFAULT_PODS_TIMEOUT_MS = 10 * 60 * 1000;

/** The custom-command mode's lease, in the journal folder unless the spec names another file. */
export const LEASE_FILE_NAME = "migrate-lease.json";

export function leaseFileIn(journalDir: string): string {
  return resolve(join(journalDir, LEASE_FILE_NAME));
}

export function openController(
  spec: ControllerSpec,
  podsTimeoutMs = DEFAULT_PODS_TIMEOUT_MS,
  journalDir = ".",
): MigrateController {
  return spec.kind === "custom"
    ? new CustomCommandController(spec.quiesce, spec.restore, spec.leaseFile ?? leaseFileIn(journalDir))
    : new KubectlController({
        deployment: spec.deployment,
        namespace: spec.namespace,
        context: spec.context,
        podsTimeoutMs,
      });
}
