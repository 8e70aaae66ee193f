import type { BackfillConfig } from "../config/settings.js";
import { describeError } from "../core/errors.js";
import { forEachAtMost } from "../core/pool.js";
import { type ControllerSpec, openController } from "../io/deployment/open.js";
import { UPLOAD_PART_BYTES } from "../io/staging/s3-upload.js";
import type { FailedTenantPlan, MigratePlan, Plan, TenantFacts } from "./actions.js";
import { discoverTenant, type ModeRequests } from "./discover.js";
import { parallelism } from "./parallelism.js";
import { newRunId } from "./run-id.js";
import { stagingUris } from "./staging-location.js";
import { type ActionSettings, sessionSetup, tenantActions, verifyOnlyActions } from "./tenant-actions.js";

export interface PlanOptions extends Partial<ModeRequests> {
  runId?: string;
  /** The run id is that of an unfinished run being resumed. */
  resuming?: boolean;
  backup: boolean;
  /** Size at which a streamed part is closed and the next one begun. */
  partBytes: number;
  /** Ranges of ids the streaming extract reads at once (default DEFAULT_EXTRACT_STREAMS). */
  extractStreams?: number;
  /** COPY FROM STDIN as the extract streams (default), or from the staged parts afterwards. */
  overlapLoad?: boolean;
  /** End each tenant with the full verify (default: yes). */
  verify?: boolean;
  /** `verify`: the plan holds the full verify of each tenant and nothing else. */
  verifyOnly?: boolean;
  /** How migrate-olap is stopped and started again; absent: it is left alone. */
  migrate?: ControllerSpec;
  /** Before each replace, how long to wait for a migrate-olap someone started to be stopped again (default DEFAULT_MIGRATE_WAIT_MS). */
  migrateWaitMs?: number;
  /** `--parallel`: tenants at once (default: from the tenants' modes, `parallelism`). */
  parallel?: number;
}

export const DEFAULT_MIGRATE_WAIT_MS = 120 * 1000;

/**
 * Tenants the plan looks at at once. A deployment has dozens of tenants and sandboxes, and one
 * look is a few dozen round trips to its warehouse, OLAP server and S3 (0.3 s each on the
 * benchmark's machine, most of it waiting); eight at once hold at most eight warehouse and eight
 * OLAP connections open.
 */
export const TENANTS_LOOKED_AT_ONCE = 8;

/** Two ranges keep two warehouse cores busy; more help only where the server has them idle. */
export const DEFAULT_EXTRACT_STREAMS = 2;

/**
 * One upload buffer (`UPLOAD_PART_BYTES`): each part goes to S3 in a single PUT, with no
 * multipart upload to complete, and is stored while the next fills. Redshift's COPY takes files of
 * 1 MB to 1 GB and splits uncompressed CSV itself ("Loading data files" in its guide), so many
 * small parts load as fast as a few large ones.
 */
export const DEFAULT_PART_BYTES = UPLOAD_PART_BYTES;

/**
 * Looks at every selected tenant read-only and writes down everything `run` will do, with the
 * exact SQL. A tenant whose preflight fails is listed with the reason and left alone.
 */
export async function buildPlan(config: BackfillConfig, options: PlanOptions): Promise<Plan> {
  const runId = options.runId ?? newRunId();
  const locations = stagingUris(config.uriRoot, config.tenants, runId);
  const requests: ModeRequests = {
    extract: options.extract ?? "auto",
    load: options.load ?? "auto",
    resuming: options.resuming ?? false,
    backup: options.backup && !options.verifyOnly,
  };
  const createdAt = new Date().toISOString();
  const migrate =
    options.migrate && !options.verifyOnly
      ? migratePlan(options.migrate, options.migrateWaitMs ?? DEFAULT_MIGRATE_WAIT_MS)
      : undefined;
  const settings: Omit<ActionSettings, "oneProcessPerSession"> = {
    runId,
    since: config.since,
    backup: options.backup,
    partBytes: options.partBytes,
    extractStreams: options.extractStreams ?? DEFAULT_EXTRACT_STREAMS,
    overlapLoad: options.overlapLoad ?? true,
    redshiftRole: config.redshiftRole,
    redshiftAuthorization: config.redshiftAuthorization,
    verify: options.verify ?? true,
    ...(migrate
      ? {
          migrateCheck: {
            description: migrate.description,
            commands: migrate.check,
            waitMs: migrate.waitMs,
          },
        }
      : {}),
  };
  // Several tenants at once (TENANTS_LOOKED_AT_ONCE); the lists keep the configuration's order.
  const facts = new Map<string, TenantFacts>();
  const failures = new Map<string, FailedTenantPlan>();
  await forEachAtMost(config.tenants, TENANTS_LOOKED_AT_ONCE, async (tenant) => {
    try {
      facts.set(tenant.id, await discoverTenant(config, tenant, locations.get(tenant.id)!, requests));
    } catch (error) {
      failures.set(tenant.id, { tenant, error: describeError(error) });
    }
  });
  const discovered = config.tenants.flatMap((tenant) => facts.get(tenant.id) ?? []);
  const failed = config.tenants.flatMap((tenant) => failures.get(tenant.id) ?? []);
  // How many tenants run at once depends on all their modes; how their sessions start, and so
  // what their actions need to set themselves, depends on that.
  const atOnce = parallelism(discovered, options.parallel);
  const oneProcess = atOnce.oneProcessPerSession;
  const withSessions = { ...settings, oneProcessPerSession: oneProcess };
  return {
    runId,
    createdAt,
    since: config.since,
    uriRoot: config.uriRoot,
    backup: options.backup,
    ...(migrate ? { migrate } : {}),
    parallelism: atOnce,
    tenants: discovered.map((facts) => ({
      ...facts,
      sessions: sessionSetup(facts, { oneProcess }),
      actions: options.verifyOnly
        ? verifyOnlyActions(facts, withSessions)
        : tenantActions(facts, withSessions),
    })),
    failed,
  };
}

function migratePlan(spec: ControllerSpec, waitMs: number): MigratePlan {
  const controller = openController(spec);
  return {
    spec,
    description: controller.description,
    leaseLocation: controller.leaseLocation,
    quiesce: controller.commands.quiesce,
    restore: controller.commands.restore,
    check: controller.commands.check,
    waitMs,
  };
}
