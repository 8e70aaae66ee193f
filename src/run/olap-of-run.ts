import type { DatabaseLogin } from "../config/settings.js";
import { olapDialect, type OlapDialectName } from "../dialects/choose.js";
import type { PostgresTenantSql } from "../dialects/postgres.js";
import { PgSession } from "../io/db/pg-session.js";
import { openDetectedOlap } from "../plan/discover.js";

/** A tenant of a journaled run, as `rollback` and `cleanup` find it. */
export interface TenantOfRun {
  tenant: string;
  olap: DatabaseLogin;
  schema: string;
  stagingUri: string;
  /** The OLAP dialect the run used; absent in journals that did not record it (the server is asked). */
  dialect?: OlapDialectName;
}

/** The statements of the run's dialect on the tenant schema, without a server (to show them first). */
export const tenantSqlOf = (target: TenantOfRun, runId: string): PostgresTenantSql =>
  olapDialect(target.dialect ?? "postgres").tenant(target.schema, runId);

/** A session in the run's dialect, and the dialect's statements on the tenant schema. */
export async function openOlapOfRun(
  target: TenantOfRun,
  runId: string,
): Promise<{ olap: PgSession; sql: PostgresTenantSql }> {
  const what = `tenant ${target.tenant} OLAP`;
  if (!target.dialect) {
    const { session, dialect } = await openDetectedOlap(target.olap, what, { readOnly: false });
    return { olap: session, sql: dialect.tenant(target.schema, runId) };
  }
  const dialect = olapDialect(target.dialect);
  const olap = await PgSession.open(target.olap, what, dialect.session({ readOnly: false }));
  return { olap, sql: dialect.tenant(target.schema, runId) };
}
