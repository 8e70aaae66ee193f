import { UNIQUE_KEY } from "../core/columns.js";
import type { PgStatement } from "../core/statement.js";
import {
  builder,
  COLUMN_LIST,
  type LoadSql,
  PostgresDialect,
  PostgresTenantSql,
  type S3Access,
  sql,
} from "./postgres.js";
import type { OlapCapabilities } from "./types.js";

/**
 * Amazon Redshift: the PostgreSQL protocol and most of its SQL, with COPY from S3, temporary
 * work tables and its own system tables. Only what differs from PostgreSQL is here.
 */
export class RedshiftDialect extends PostgresDialect {
  override readonly name = "redshift";
  override readonly label = "Amazon Redshift";
  override readonly capabilities: OlapCapabilities = {
    // Temporary tables live in the load session only, so their names cannot collide across
    // tenants or runs; another session cannot read them.
    workTables: "temporary",
    rejectionsOnSecondSession: false,
    copiesFrom: "s3",
    // The plan simply runs only SELECTs on a read-only Redshift session.
    readOnlySessions: false,
    // MERGE exists on newer clusters only.
    merge: false,
  };

  /** Redshift has no `work_mem` and no read-only session setting. */
  override session(_options: { readOnly: boolean }): PgStatement[] {
    return this.probeSession();
  }

  override tenant(schema: string, runId?: string): RedshiftTenantSql {
    return new RedshiftTenantSql(schema, runId);
  }
}

export class RedshiftTenantSql extends PostgresTenantSql {
  protected override workTable(role: "stage" | "rows"): string {
    return `backfill_${role}`;
  }

  protected override createWorkTable(name: string): string {
    return `CREATE TEMP TABLE ${name}`;
  }

  /** Temporary tables go with the session: nothing to drop. */
  override dropWorkTables(): PgStatement[] {
    return [];
  }

  /**
   * Redshift reads the parts listed in the manifest from S3 itself. `NULL AS '\\N'` because
   * Redshift string literals treat the backslash as an escape; `MAXERROR 0` so that no row is
   * dropped silently (runbook defect 2); the staged timestamps are UTC, which is how
   * `TIMEFORMAT 'auto'` reads a value without an offset into a timestamptz.
   */
  override load(manifestUri: string, access: S3Access): LoadSql {
    const loadErrors = builder();
    return {
      copiesFrom: "s3",
      prepare: [this.createStage()],
      copy: sql([
        `COPY ${this.stage} (${COLUMN_LIST})`,
        `FROM '${manifestUri}'`,
        redshiftAuthorization(access.role ?? "<migrate.aws.redshift.role is not set>", access.form),
        "FORMAT AS CSV",
        "NULL AS '\\\\N'",
        "TIMEFORMAT 'auto'",
        "MANIFEST",
        "COMPUPDATE OFF",
        "STATUPDATE OFF",
        "MAXERROR 0",
      ]),
      // Rows the last COPY of this session loaded.
      copiedRows: sql("SELECT pg_last_copy_count() AS n"),
      // Rows the last COPY of this session rejected.
      loadErrors: loadErrors.build(
        "SELECT line_number, trim(colname) AS colname, trim(err_reason) AS err_reason, trim(raw_field_value) AS raw_field_value " +
          `FROM stl_load_errors WHERE query = pg_last_copy_id() ORDER BY line_number LIMIT ${loadErrors.bind(LOAD_ERRORS_SHOWN)}`,
      ),
    };
  }

  /** Temporary tables are read by one session; the keep-one-per-key rule runs as a window function. */
  override selectRows(): PgStatement[] {
    const key = UNIQUE_KEY.map((column) => `s.${column}`).join(", ");
    return [
      sql(`${this.createWorkTable(this.rows)} (LIKE ${this.live})`),
      sql([
        `INSERT INTO ${this.rows} (${COLUMN_LIST})`,
        `SELECT ${COLUMN_LIST} FROM (`,
        `  SELECT s.*, ROW_NUMBER() OVER (PARTITION BY ${key} ORDER BY s.id) AS key_rank`,
        ...this.inOlapExam(),
        ") ranked",
        "WHERE key_rank = 1",
      ]),
    ];
  }
}

const LOAD_ERRORS_SHOWN = 20;

/**
 * How COPY authenticates to S3: `IAM_ROLE 'arn…'`, or the older `CREDENTIALS 'aws_iam_role=arn…'`
 * the runbook uses. A configured value that already starts with `aws_iam_role=` keeps that form.
 */
export function redshiftAuthorization(role: string, form: "iam-role" | "credentials"): string {
  if (role.startsWith("aws_iam_role=")) return `CREDENTIALS '${role}'`;
  return form === "credentials" ? `CREDENTIALS 'aws_iam_role=${role}'` : `IAM_ROLE '${role}'`;
}

export const REDSHIFT = new RedshiftDialect();
