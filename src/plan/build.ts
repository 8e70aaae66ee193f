import { WarehouseConnection } from "../adapters/source/mysql.js";
import { openStaging } from "../adapters/staging/open.js";
import { OlapConnection } from "../adapters/target/postgres.js";
import type { BackfillConfig, TenantConfig } from "../config/settings.js";
import { describeError, RuntimeError } from "../errors.js";
import type { Action, Plan, RowEstimates, TenantPlan } from "./actions.js";
import { requirePlainIdentifier } from "./identifiers.js";
import { newRunId } from "./run-id.js";
import { REQUIRED_OLAP_COLUMNS, REQUIRED_WAREHOUSE_COLUMNS } from "./sql/columns.js";
import { currentSchemaQuery, OlapSql, requiredColumnsQuery as olapColumnsQuery } from "./sql/olap.js";
import {
  altScoreIdsQuery,
  examScoreSizeQuery,
  examsInWindowQuery,
  extractQuery,
  requiredColumnsQuery as warehouseColumnsQuery,
} from "./sql/warehouse.js";
import { OBJECT_BASE, stagingUris } from "./staging-location.js";
import { EXAMPLES_PER_REASON } from "../steps/rejections.js";

export interface PlanOptions {
  runId?: string;
  backup: boolean;
  /** Size at which a staged part is closed and the next one begun. */
  partBytes: number;
}

export const DEFAULT_PART_BYTES = 256 * 1024 * 1024;

/**
 * Looks at every selected tenant read-only and writes down everything `run` will do, with the
 * exact SQL. A tenant whose preflight fails is listed with the reason and left alone.
 */
export async function buildPlan(config: BackfillConfig, options: PlanOptions): Promise<Plan> {
  const runId = options.runId ?? newRunId();
  const locations = stagingUris(config.uriRoot, config.tenants, runId);
  const plan: Plan = {
    runId,
    createdAt: new Date().toISOString(),
    since: config.since,
    uriRoot: config.uriRoot,
    backup: options.backup,
    tenants: [],
    failed: [],
  };
  for (const tenant of config.tenants) {
    try {
      plan.tenants.push(await planTenant(config, tenant, locations.get(tenant.id)!, runId, options));
    } catch (error) {
      plan.failed.push({ tenant, error: describeError(error) });
    }
  }
  return plan;
}

async function planTenant(
  config: BackfillConfig,
  tenant: TenantConfig,
  stagingUri: string,
  runId: string,
  options: PlanOptions,
): Promise<TenantPlan> {
  const staging = openStaging(stagingUri);
  const leftovers = await staging.list().catch((error: unknown) => {
    throw new RuntimeError(`staging ${stagingUri}: cannot be listed (${describeError(error)})`);
  });
  if (leftovers.length > 0) throw new RuntimeError(`staging ${stagingUri} is not empty`);

  const warehouseFacts = await inspectWarehouse(tenant, config.since);
  const { schema, source: schemaSource } = await resolveOlapSchema(tenant);
  const liveRows = await inspectOlap(tenant, schema);
  const estimates: RowEstimates = { ...warehouseFacts.estimates, liveRows };
  const altScoreIds = tenant.altScoreIdsOverride ?? warehouseFacts.altScoreIds;
  const olapSql = new OlapSql(schema);
  const backupTable = `exam_alt_score_backup_${runId}`;

  const actions: Action[] = [];
  if (options.backup) {
    actions.push({
      step: "backup",
      summary: `copy ${schema}.exam_alt_score (${liveRows} rows) to ${schema}.${backupTable}`,
      backupTable,
      statements: olapSql.backup(backupTable),
    });
  }
  actions.push(
    {
      step: "extract",
      summary: `stream alt scores updated since ${config.since} UTC from ${tenant.warehouse.database} to ${stagingUri}`,
      query: extractQuery(tenant.warehouse.database, altScoreIds, config.since),
      stagingUri,
      objectBase: OBJECT_BASE,
      partBytes: options.partBytes,
    },
    {
      step: "load",
      summary: `copy the parts listed in ${stagingUri}${OBJECT_BASE}.manifest into a temporary staging table`,
      createStage: olapSql.createStage(),
      copy: olapSql.copyStageFromStdin(),
    },
    {
      step: "merge",
      summary: `keep rows of exams in ${schema}.exam; replace rows with the same key in one transaction`,
      selectRows: olapSql.selectRows(),
      rejections: olapSql.rejections(EXAMPLES_PER_REASON),
      transaction: {
        countLive: olapSql.countLive(),
        deleteReplaced: olapSql.deleteReplaced(),
        insertRows: olapSql.insertRows(),
        countDuplicateKeys: olapSql.countDuplicateKeys(),
      },
    },
    {
      step: "verify",
      summary: "check that every extracted row is loaded with the warehouse's values or counted as rejected",
      countMatchingLiveRows: olapSql.countMatchingLiveRows(),
      countDuplicateKeys: olapSql.countDuplicateKeys(),
    },
  );
  return {
    tenant,
    olapSchema: schema,
    olapSchemaSource: schemaSource,
    altScoreIds,
    altScoreIdsSource: tenant.altScoreIdsOverride
      ? "configured (backfill.alt-subject-score-ids)"
      : "warehouse subject_score (score_type_id = 2, asmt types 1 and 3)",
    stagingUri,
    estimates,
    actions,
  };
}

async function inspectWarehouse(
  tenant: TenantConfig,
  since: string,
): Promise<{ altScoreIds: number[]; estimates: Omit<RowEstimates, "liveRows"> }> {
  const warehouse = await WarehouseConnection.open(tenant.warehouse, `tenant ${tenant.id} warehouse`);
  try {
    const database = tenant.warehouse.database;
    const present = await warehouse.query<{ table_name: string; column_name: string }>(
      warehouseColumnsQuery(database, Object.keys(REQUIRED_WAREHOUSE_COLUMNS)),
    );
    requireColumns(`tenant ${tenant.id} warehouse database ${database}`, REQUIRED_WAREHOUSE_COLUMNS, present);
    const altScores = await warehouse.query<{ id: string; subject_id: string; asmt_type_id: string }>(
      altScoreIdsQuery(database),
    );
    const [exams] = await warehouse.query<{ exams: string }>(examsInWindowQuery(database, since));
    const [size] = await warehouse.query<{ exam_score_rows: string | null }>(examScoreSizeQuery(database));
    const altScoreIds = altScores.map((row) => Number(row.id));
    const examsInWindow = Number(exams?.exams ?? 0);
    const altScoreGroups = new Set(altScores.map((row) => `${row.subject_id}/${row.asmt_type_id}`)).size;
    if (altScoreIds.length === 0 && !tenant.altScoreIdsOverride) {
      throw new RuntimeError(
        `tenant ${tenant.id} warehouse database ${database}: subject_score has no alt scores (score_type_id = 2, asmt types 1 and 3)`,
      );
    }
    return {
      altScoreIds,
      estimates: {
        examsInWindow,
        altScoreRowsApprox: altScoreGroups
          ? Math.round((examsInWindow * altScoreIds.length) / altScoreGroups)
          : 0,
        examScoreRowsApprox: Number(size?.exam_score_rows ?? 0),
      },
    };
  } finally {
    await warehouse.close();
  }
}

/** `backfill.tenants.<ID>.olap-schema`, else the tenant user's `current_schema()`, else `reporting_<id>`. */
async function resolveOlapSchema(tenant: TenantConfig): Promise<{ schema: string; source: string }> {
  if (tenant.olapSchemaOverride) {
    return { schema: tenant.olapSchemaOverride, source: `backfill.tenants.${tenant.id}.olap-schema` };
  }
  if (tenant.olapTenantLogin) {
    const olap = await OlapConnection.open(tenant.olapTenantLogin, `tenant ${tenant.id} OLAP tenant login`, {
      readOnly: true,
    });
    try {
      const { rows } = await olap.query<{ schema: string | null }>(currentSchemaQuery());
      const schema = rows[0]?.schema;
      if (schema) {
        return {
          schema: requirePlainIdentifier(schema, `tenant ${tenant.id} OLAP current_schema()`),
          source: `current_schema() of ${tenant.olapTenantLogin.user}`,
        };
      }
    } finally {
      await olap.close();
    }
  }
  return { schema: `reporting_${tenant.id.toLowerCase()}`, source: "naming rule reporting_<tenant id>" };
}

async function inspectOlap(tenant: TenantConfig, schema: string): Promise<number> {
  const olap = await OlapConnection.open(tenant.olap, `tenant ${tenant.id} OLAP`, { readOnly: true });
  try {
    const { rows } = await olap.query<{ table_name: string; column_name: string }>(
      olapColumnsQuery(schema, Object.keys(REQUIRED_OLAP_COLUMNS)),
    );
    requireColumns(`tenant ${tenant.id} OLAP schema ${schema}`, REQUIRED_OLAP_COLUMNS, rows);
    return await olap.count(new OlapSql(schema).countLive());
  } finally {
    await olap.close();
  }
}

function requireColumns(
  where: string,
  required: Record<string, readonly string[]>,
  present: readonly { table_name: string; column_name: string }[],
): void {
  for (const [table, columns] of Object.entries(required)) {
    const found = new Set(
      present.filter((row) => row.table_name === table).map((row) => row.column_name.toLowerCase()),
    );
    if (found.size === 0) throw new RuntimeError(`${where}: table ${table} does not exist`);
    const missing = columns.filter((column) => !found.has(column));
    if (missing.length > 0)
      throw new RuntimeError(`${where}: table ${table} lacks column ${missing.join(", ")}`);
  }
}
