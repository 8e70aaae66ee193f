import type { BackfillConfig, TenantConfig } from "../config/settings.js";
import { REQUIRED_OLAP_COLUMNS, REQUIRED_WAREHOUSE_COLUMNS } from "../core/columns.js";
import { describeError, RuntimeError } from "../core/errors.js";
import { requirePlainIdentifier } from "../core/identifiers.js";
import type { AuroraDialect, AuroraPreflight, AuroraS3Facts } from "../dialects/aurora.js";
import {
  auroraDialect,
  chooseExtract,
  chooseLoad,
  detectOlapDialect,
  olapDialect,
  type ExtractMode,
  type LoadMode,
  type ModeRequest,
  serverSideProblems,
  type ServerFacts,
} from "../dialects/choose.js";
import { EXACT_WINDOW_COUNT_BELOW, MYSQL, type MysqlDialect } from "../dialects/mysql.js";
import { POSTGRES, type PostgresDialect } from "../dialects/postgres.js";
import type { PgStatement } from "../core/statement.js";
import { backupSpaceVerdict } from "./preflight.js";
import type { IdSpan } from "../dialects/types.js";
import { MysqlSession } from "../io/db/mysql-session.js";
import { PgSession } from "../io/db/pg-session.js";
import { openStaging } from "../io/staging/open.js";
import type { AltScoreName, RowEstimates, TenantFacts } from "./actions.js";

export interface ModeRequests {
  extract: ModeRequest<ExtractMode>;
  load: ModeRequest<LoadMode>;
  /** Resuming a run: its staging folders hold its own files. */
  resuming?: boolean;
  /** The run copies exam_alt_score first: the OLAP cluster needs room for the copy. */
  backup?: boolean;
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
  const problems = serverSideProblems(extract, load, servers, stagingUri);
  const preflight = { checked: [] as string[], unchecked: [] as string[] };
  // The privilege probes need an Aurora server.
  if (extract.serverSide && servers.auroraVersion && extract.dialect !== "mysql") {
    const aurora = await auroraS3Preflight(tenant, auroraDialect(extract.dialect), stagingUri);
    problems.push(...aurora.problems);
    preflight.checked.push(...aurora.checked);
    preflight.unchecked.push(...aurora.unchecked);
  }
  if (requests.backup) {
    const space = await backupSpace(tenant, olapDialect(load.dialect), schema);
    problems.push(...space.problems);
    preflight.checked.push(...space.checked);
    preflight.unchecked.push(...space.unchecked);
  }
  if (load.serverSide && !config.redshiftRole) {
    problems.push(
      `migrate.aws.redshift.role is not set (rdw-ingest-migrate-olap.yml): COPY needs an IAM role that may read ${stagingUri}`,
    );
  }
  return {
    tenant,
    stagingUri,
    olapSchema: schema,
    olapSchemaSource: schemaSource,
    altScoreIds: tenant.altScoreIdsOverride ?? warehouse.altScoreIds,
    altScoreIdsSource: tenant.altScoreIdsOverride
      ? "configured (backfill.alt-subject-score-ids)"
      : "warehouse subject_score (score_type_id = 2, asmt types 1 and 3)",
    altScoreNames: warehouse.altScoreNames,
    estimates: { ...warehouse.estimates, liveRows: olap.liveRows },
    idSpans: warehouse.idSpans,
    extract,
    load,
    problems,
    preflight,
  };
}

interface WarehouseFacts {
  altScoreIds: number[];
  altScoreNames: AltScoreName[];
  estimates: Omit<RowEstimates, "liveRows">;
  idSpans: TenantFacts["idSpans"];
  version: string;
  auroraVersion: string | undefined;
}

const openWarehouse = (tenant: TenantConfig) =>
  MysqlSession.open(tenant.warehouse, `tenant ${tenant.id} warehouse`, MYSQL.session({ readOnly: true }));

/** Discovery speaks only the SQL every MySQL-family server understands. */
async function inspectWarehouse(tenant: TenantConfig, since: string): Promise<WarehouseFacts> {
  const warehouse = await openWarehouse(tenant);
  try {
    const database = tenant.warehouse.database;
    const present = await warehouse.query<{ table_name: string; column_name: string }>(
      MYSQL.requiredColumns(database, Object.keys(REQUIRED_WAREHOUSE_COLUMNS)),
    );
    requireColumns(`tenant ${tenant.id} warehouse database ${database}`, REQUIRED_WAREHOUSE_COLUMNS, present);
    const altScores = await warehouse.query<{ id: string; subject_id: string; asmt_type_id: string }>(
      MYSQL.altScoreIds(database),
    );
    const exam = await idSpan(warehouse, database, "exam");
    const examsInWindow = await countExamsInWindow(warehouse, database, since, exam);
    const examScore = await idSpan(warehouse, database, "exam_score");
    const [version] = await warehouse.query<{ version: string }>(MYSQL.version());
    const aurora = await warehouse.query<{ version: string }>(MYSQL.auroraVersion()).catch(() => []);
    const altScoreIds = altScores.map((row) => Number(row.id));
    if (altScoreIds.length === 0 && !tenant.altScoreIdsOverride) {
      throw new RuntimeError(
        `tenant ${tenant.id} warehouse database ${database}: subject_score has no alt scores (score_type_id = 2, asmt types 1 and 3)`,
      );
    }
    const altScoreGroups = new Set(altScores.map((row) => `${row.subject_id}/${row.asmt_type_id}`)).size;
    return {
      altScoreIds,
      altScoreNames: await readAltScoreNames(warehouse, database, tenant.altScoreIdsOverride ?? altScoreIds),
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

/**
 * The names the report gives the alt scores, from the warehouse's `subject_score`, `subject` and
 * `asmt_type`. Only the report needs them: when they cannot be read, it shows the ids.
 */
async function readAltScoreNames(
  warehouse: MysqlSession,
  database: string,
  ids: readonly number[],
): Promise<AltScoreName[]> {
  if (ids.length === 0) return [];
  const rows = await warehouse
    .query<{ id: string; code: string; subject_code: string | null; asmt_type_code: string | null }>(
      MYSQL.altScoreNames(database, ids),
    )
    .catch(() => []);
  return rows.map((row) => ({
    id: Number(row.id),
    code: String(row.code),
    ...(row.subject_code == null ? {} : { subjectCode: String(row.subject_code) }),
    ...(row.asmt_type_code == null ? {} : { asmtTypeCode: String(row.asmt_type_code) }),
  }));
}

/** Exact for a small warehouse; estimated from a 1% sample of the exam ids for a large one. */
export async function countExamsInWindow(
  warehouse: MysqlSession,
  database: string,
  since: string,
  exam: IdSpan & { rowsApprox: number },
  exactBelow = EXACT_WINDOW_COUNT_BELOW,
  dialect: MysqlDialect = MYSQL,
): Promise<number> {
  if (exam.lowest !== null && exam.highest !== null && exam.rowsApprox >= exactBelow) {
    const { statement, sampledIds } = dialect.examsInWindowSample(database, since, exam.lowest, exam.highest);
    const [sample] = await warehouse.query<{ sampled: string; in_window: string }>(statement);
    if (Number(sample?.sampled ?? 0) > 0) {
      const span = exam.highest - exam.lowest + 1;
      return Math.round((Number(sample!.in_window) / sampledIds) * span);
    }
  }
  const [exams] = await warehouse.query<{ exams: string }>(dialect.examsInWindow(database, since));
  return Number(exams?.exams ?? 0);
}

async function idSpan(
  warehouse: MysqlSession,
  database: string,
  table: "exam" | "exam_score",
): Promise<IdSpan & { rowsApprox: number }> {
  const [span] = await warehouse.query<{
    lowest: string | null;
    highest: string | null;
    rows_approx: string | null;
  }>(MYSQL.idSpan(database, table));
  return {
    lowest: span?.lowest == null ? null : Number(span.lowest),
    highest: span?.highest == null ? null : Number(span.highest),
    rowsApprox: Number(span?.rows_approx ?? 0),
  };
}

/**
 * An OLAP session opened before the engine is known: the statements both engines accept, then,
 * once `version()` has told which it is, that dialect's session.
 */
export async function openDetectedOlap(
  login: TenantConfig["olap"],
  what: string,
  options: { readOnly: boolean },
): Promise<{ session: PgSession; version: string; dialect: PostgresDialect }> {
  const session = await PgSession.open(login, what, POSTGRES.probeSession());
  try {
    const { rows } = await session.query<{ version: string }>(POSTGRES.version());
    const version = rows[0]?.version ?? "";
    const dialect = detectOlapDialect(version);
    for (const statement of dialect.session(options)) await session.query(statement);
    return { session, version, dialect };
  } catch (error) {
    await session.close();
    throw error;
  }
}

const openOlapReader = (login: TenantConfig["olap"], what: string) =>
  openDetectedOlap(login, what, { readOnly: true });

/** `backfill.tenants.<ID>.olap-schema`, else the tenant user's `current_schema()`, else `reporting_<id>`. */
async function resolveOlapSchema(tenant: TenantConfig): Promise<{ schema: string; source: string }> {
  if (tenant.olapSchemaOverride) {
    return { schema: tenant.olapSchemaOverride, source: `backfill.tenants.${tenant.id}.olap-schema` };
  }
  if (tenant.olapTenantLogin) {
    const { session } = await openOlapReader(tenant.olapTenantLogin, `tenant ${tenant.id} OLAP tenant login`);
    try {
      const { rows } = await session.query<{ schema: string | null }>(POSTGRES.currentSchema());
      const schema = rows[0]?.schema;
      if (schema) {
        return {
          schema: requirePlainIdentifier(schema, `tenant ${tenant.id} OLAP current_schema()`),
          source: `current_schema() of ${tenant.olapTenantLogin.user}`,
        };
      }
    } finally {
      await session.close();
    }
  }
  return { schema: `reporting_${tenant.id.toLowerCase()}`, source: "naming rule reporting_<tenant id>" };
}

async function inspectOlap(
  tenant: TenantConfig,
  schema: string,
): Promise<{ liveRows: number; version: string }> {
  const { session, version } = await openOlapReader(tenant.olap, `tenant ${tenant.id} OLAP`);
  try {
    const { rows } = await session.query<{ table_name: string; column_name: string }>(
      POSTGRES.requiredColumns(schema, Object.keys(REQUIRED_OLAP_COLUMNS)),
    );
    requireColumns(`tenant ${tenant.id} OLAP schema ${schema}`, REQUIRED_OLAP_COLUMNS, rows);
    return { liveRows: await session.count(POSTGRES.tenant(schema).countLive()), version };
  } finally {
    await session.close();
  }
}

/**
 * Room for the backup: a copy of exam_alt_score, and as much again for the replaced rows, whose
 * blocks stay until a vacuum. Read where the engine tells it; otherwise said to be unchecked.
 */
async function backupSpace(
  tenant: TenantConfig,
  dialect: PostgresDialect,
  schema: string,
): Promise<{ problems: string[]; checked: string[]; unchecked: string[] }> {
  const statements = dialect.diskSpace(schema);
  const unchecked = (why: string) => ({
    problems: [],
    checked: [],
    unchecked: [`room for the backup: ${why}`],
  });
  if (!statements) return unchecked(`${dialect.label} does not report its free disk space`);
  const { session } = await openOlapReader(tenant.olap, `tenant ${tenant.id} OLAP`);
  try {
    const read = async (statement: PgStatement) => {
      const { rows } = await session.query<Record<string, unknown>>(statement).catch(() => ({ rows: [] }));
      const value = rows[0] ? Object.values(rows[0])[0] : null;
      return value === null || value === undefined ? undefined : Number(value);
    };
    const freeMb = await read(statements.free);
    const tableMb = await read(statements.tableSize);
    if (freeMb === undefined || tableMb === undefined)
      return unchecked(
        "the cluster's free space or the table's size is not visible to this user (superusers see them)",
      );
    return backupSpaceVerdict(freeMb, tableMb);
  } finally {
    await session.close();
  }
}

/**
 * Aurora's `INTO OUTFILE S3` needs the privilege and an IAM role on the cluster: read (SHOW
 * GRANTS, the role parameters), nothing written. The session is the extract's (on Aurora MySQL 3
 * it activates the granted roles).
 */
async function auroraS3Preflight(
  tenant: TenantConfig,
  aurora: AuroraDialect,
  stagingUri: string,
): Promise<AuroraPreflight> {
  const warehouse = await MysqlSession.open(
    tenant.warehouse,
    `tenant ${tenant.id} warehouse`,
    aurora.session({ readOnly: true }),
  );
  try {
    const [current] = await warehouse.query<{ user: string }>(aurora.currentUser());
    const grants = (await warehouse.query<Record<string, string>>(aurora.grants())).flatMap((row) =>
      Object.values(row),
    );
    const roles: AuroraS3Facts["roles"] = {};
    for (const parameter of aurora.s3RoleParameters()) {
      const [row] = await warehouse.query<{ role: string | null }>(aurora.s3Role(parameter)).catch(() => []);
      if (row?.role) roles[parameter] = row.role;
    }
    return aurora.s3Preflight(
      { currentUser: current?.user, grants, roles },
      tenant.warehouse.user,
      stagingUri,
    );
  } finally {
    await warehouse.close();
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
