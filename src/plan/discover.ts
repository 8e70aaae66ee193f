import { WarehouseConnection } from "../adapters/source/mysql.js";
import { openStaging } from "../adapters/staging/open.js";
import { OlapConnection } from "../adapters/target/postgres.js";
import type { BackfillConfig, TenantConfig } from "../config/settings.js";
import { describeError, RuntimeError } from "../errors.js";
import type { IdSpan, RowEstimates, TenantFacts } from "./actions.js";
import { requirePlainIdentifier } from "./identifiers.js";
import {
  chooseExtract,
  chooseLoad,
  type ExtractMode,
  isRedshift,
  type LoadMode,
  type ModeRequest,
  type ServerFacts,
} from "./modes.js";
import { REQUIRED_OLAP_COLUMNS, REQUIRED_WAREHOUSE_COLUMNS } from "./sql/columns.js";
import { currentSchemaQuery, OlapSql, requiredColumnsQuery as olapColumnsQuery } from "./sql/olap.js";
import {
  altScoreIdsQuery,
  auroraVersionQuery,
  currentUserQuery,
  defaultS3RoleQuery,
  idSpanQuery,
  examsInWindowQuery,
  examsInWindowSampleQuery,
  EXACT_WINDOW_COUNT_BELOW,
  grantsQuery,
  requiredColumnsQuery as warehouseColumnsQuery,
  versionQuery,
} from "./sql/warehouse.js";

export interface ModeRequests {
  extract: ModeRequest<ExtractMode>;
  load: ModeRequest<LoadMode>;
  /** Resuming a run: its staging folders hold its own files. */
  resuming?: boolean;
}

/**
 * Looks at a tenant read-only: staging folder, warehouse, OLAP schema, server kinds and, for
 * the server-side modes, the privileges they need. Throws when the tenant cannot be planned;
 * returns the problems that would make its run fail.
 */
export async function discoverTenant(
  config: BackfillConfig,
  tenant: TenantConfig,
  stagingUri: string,
  requests: ModeRequests,
): Promise<TenantFacts> {
  const staging = openStaging(stagingUri);
  const leftovers = await staging.list().catch((error: unknown) => {
    throw new RuntimeError(`staging ${stagingUri}: cannot be listed (${describeError(error)})`);
  });
  if (leftovers.length > 0 && !requests.resuming)
    throw new RuntimeError(`staging ${stagingUri} is not empty`);

  const warehouse = await inspectWarehouse(tenant, config.since);
  const { schema, source: schemaSource } = await resolveOlapSchema(tenant);
  const olap = await inspectOlap(tenant, schema);
  const servers: ServerFacts = {
    auroraVersion: warehouse.auroraVersion,
    warehouseVersion: warehouse.version,
    olapVersion: olap.version,
  };
  const extract = chooseExtract(requests.extract, servers);
  const load = chooseLoad(requests.load, servers);
  const problems: string[] = [];
  if (extract.mode === "aurora") problems.push(...(await auroraProblems(tenant, servers, stagingUri)));
  if (load.mode === "redshift") problems.push(...redshiftProblems(config, servers, stagingUri));
  return {
    tenant,
    stagingUri,
    olapSchema: schema,
    olapSchemaSource: schemaSource,
    altScoreIds: tenant.altScoreIdsOverride ?? warehouse.altScoreIds,
    altScoreIdsSource: tenant.altScoreIdsOverride
      ? "configured (backfill.alt-subject-score-ids)"
      : "warehouse subject_score (score_type_id = 2, asmt types 1 and 3)",
    estimates: { ...warehouse.estimates, liveRows: olap.liveRows },
    idSpans: warehouse.idSpans,
    extract,
    load,
    problems,
  };
}

interface WarehouseFacts {
  altScoreIds: number[];
  estimates: Omit<RowEstimates, "liveRows">;
  idSpans: TenantFacts["idSpans"];
  version: string;
  auroraVersion: string | undefined;
}

async function inspectWarehouse(tenant: TenantConfig, since: string): Promise<WarehouseFacts> {
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
    const exam = await idSpan(warehouse, database, "exam");
    const examsInWindow = await countExamsInWindow(warehouse, database, since, exam);
    const examScore = await idSpan(warehouse, database, "exam_score");
    const [version] = await warehouse.query<{ version: string }>(versionQuery());
    // Only Aurora knows @@aurora_version; elsewhere the query fails.
    const aurora = await warehouse.query<{ version: string }>(auroraVersionQuery()).catch(() => []);
    const altScoreIds = altScores.map((row) => Number(row.id));
    if (altScoreIds.length === 0 && !tenant.altScoreIdsOverride) {
      throw new RuntimeError(
        `tenant ${tenant.id} warehouse database ${database}: subject_score has no alt scores (score_type_id = 2, asmt types 1 and 3)`,
      );
    }
    const altScoreGroups = new Set(altScores.map((row) => `${row.subject_id}/${row.asmt_type_id}`)).size;
    return {
      altScoreIds,
      estimates: {
        examsInWindow,
        altScoreRowsApprox: altScoreGroups
          ? Math.round((examsInWindow * altScoreIds.length) / altScoreGroups)
          : 0,
        examRowsApprox: exam.rowsApprox,
        examScoreRowsApprox: examScore.rowsApprox,
      },
      idSpans: { exam, examScore },
      version: version?.version ?? "unknown",
      auroraVersion: aurora[0]?.version ?? undefined,
    };
  } finally {
    await warehouse.close();
  }
}

/** Exact for a small warehouse; estimated from a 1% sample of the exam ids for a large one. */
export async function countExamsInWindow(
  warehouse: WarehouseConnection,
  database: string,
  since: string,
  exam: IdSpan & { rowsApprox: number },
  exactBelow = EXACT_WINDOW_COUNT_BELOW,
): Promise<number> {
  if (exam.lowest !== null && exam.highest !== null && exam.rowsApprox >= exactBelow) {
    const { statement, sampledIds } = examsInWindowSampleQuery(database, since, exam.lowest, exam.highest);
    const [sample] = await warehouse.query<{ sampled: string; in_window: string }>(statement);
    if (Number(sample?.sampled ?? 0) > 0) {
      const span = exam.highest - exam.lowest + 1;
      return Math.round((Number(sample!.in_window) / sampledIds) * span);
    }
  }
  const [exams] = await warehouse.query<{ exams: string }>(examsInWindowQuery(database, since));
  return Number(exams?.exams ?? 0);
}

async function idSpan(
  warehouse: WarehouseConnection,
  database: string,
  table: "exam" | "exam_score",
): Promise<IdSpan & { rowsApprox: number }> {
  const [span] = await warehouse.query<{
    lowest: string | null;
    highest: string | null;
    rows_approx: string | null;
  }>(idSpanQuery(database, table));
  return {
    lowest: span?.lowest == null ? null : Number(span.lowest),
    highest: span?.highest == null ? null : Number(span.highest),
    rowsApprox: Number(span?.rows_approx ?? 0),
  };
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

async function inspectOlap(
  tenant: TenantConfig,
  schema: string,
): Promise<{ liveRows: number; version: string }> {
  const olap = await OlapConnection.open(tenant.olap, `tenant ${tenant.id} OLAP`, { readOnly: true });
  try {
    const { rows } = await olap.query<{ table_name: string; column_name: string }>(
      olapColumnsQuery(schema, Object.keys(REQUIRED_OLAP_COLUMNS)),
    );
    requireColumns(`tenant ${tenant.id} OLAP schema ${schema}`, REQUIRED_OLAP_COLUMNS, rows);
    return { liveRows: await olap.count(new OlapSql(schema).countLive()), version: olap.version };
  } finally {
    await olap.close();
  }
}

/** Aurora's `INTO OUTFILE S3` needs the privilege, a default S3 role on the cluster, and S3 staging. */
async function auroraProblems(
  tenant: TenantConfig,
  servers: ServerFacts,
  stagingUri: string,
): Promise<string[]> {
  const problems: string[] = [];
  if (!stagingUri.startsWith("s3://")) problems.push(`Aurora writes only to S3; staging is ${stagingUri}`);
  if (!servers.auroraVersion) {
    problems.push(
      `warehouse is not Aurora MySQL (version ${servers.warehouseVersion}): INTO OUTFILE S3 will fail`,
    );
    return problems;
  }
  const warehouse = await WarehouseConnection.open(tenant.warehouse, `tenant ${tenant.id} warehouse`);
  try {
    const [current] = await warehouse.query<{ user: string }>(currentUserQuery());
    const account = (current?.user ?? `${tenant.warehouse.user}@%`).replace(/^(.*)@(.*)$/, "'$1'@'$2'");
    const grants = (await warehouse.query<Record<string, string>>(grantsQuery())).flatMap((row) =>
      Object.values(row),
    );
    if (!grants.some((grant) => /SELECT INTO S3|AWS_SELECT_S3_ACCESS/i.test(grant))) {
      problems.push(
        `warehouse user ${account} lacks the SELECT INTO S3 privilege; grant it with ` +
          `GRANT SELECT INTO S3 ON *.* TO ${account} (Aurora MySQL 2) or GRANT AWS_SELECT_S3_ACCESS TO ${account} ` +
          `and SET DEFAULT ROLE AWS_SELECT_S3_ACCESS TO ${account} (Aurora MySQL 3)`,
      );
    }
    const [role] = await warehouse.query<{ role: string | null }>(defaultS3RoleQuery()).catch(() => []);
    if (!role?.role) {
      problems.push(
        `Aurora cluster parameter aws_default_s3_role is not set; with an IAM role that may write ${stagingUri}: ` +
          "aws rds add-role-to-db-cluster --db-cluster-identifier <cluster> --role-arn <role arn> and " +
          "aws rds modify-db-cluster-parameter-group --db-cluster-parameter-group-name <group> " +
          "--parameters ParameterName=aws_default_s3_role,ParameterValue=<role arn>,ApplyMethod=immediate",
      );
    }
  } finally {
    await warehouse.close();
  }
  return problems;
}

function redshiftProblems(config: BackfillConfig, servers: ServerFacts, stagingUri: string): string[] {
  const problems: string[] = [];
  if (!isRedshift(servers.olapVersion)) {
    problems.push(
      `OLAP server is not Redshift (${servers.olapVersion.split(" on ")[0]}): COPY … FROM S3 will fail`,
    );
  }
  if (!stagingUri.startsWith("s3://"))
    problems.push(`Redshift COPY reads only from S3; staging is ${stagingUri}`);
  if (!config.redshiftRole) {
    problems.push(
      `migrate.aws.redshift.role is not set (rdw-ingest-migrate-olap.yml): COPY needs an IAM role that may read ${stagingUri}`,
    );
  }
  return problems;
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
