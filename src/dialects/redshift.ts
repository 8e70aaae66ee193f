import { EXAM_ALT_SCORE_COLUMNS } from "../core/columns.js";
import { locationLiteral, roleLiteral } from "../core/literals.js";
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
import { RollbackSql } from "./rollback.js";
import type { OlapCapabilities } from "./types.js";

const LOAD_ERRORS_SHOWN = 20;

/**
 * Amazon Redshift: the PostgreSQL protocol and most of its SQL. What differs is declared as
 * capabilities (temporary work tables, no read-only sessions) or overridden here: no `work_mem`,
 * and COPY from S3 with Redshift's own system tables.
 */
export class RedshiftDialect extends PostgresDialect {
  override readonly name = "redshift";
  override readonly label = "Amazon Redshift";
  override readonly capabilities: OlapCapabilities = {
    // Temporary tables live in the load session only, so their names cannot collide across
    // tenants or runs; another session cannot read them.
    workTables: "temporary",
    workTablesShared: false,
    copiesFrom: "s3",
    // The plan simply runs only SELECTs on a reading session.
    readOnlySessions: false,
    // MERGE exists on newer clusters only (the replace does not use it).
    merge: false,
  };

  /** Redshift has no `work_mem`: its workload management gives a query its memory. */
  protected override memorySettings(): PgStatement[] {
    return [];
  }

  /** Redshift compiles its queries itself; it has no `jit` parameter. */
  protected override compilerSettings(): PgStatement[] {
    return [];
  }

  /**
   * Redshift has no `enable_nestloop` (its configuration parameters are a short list), and needs
   * none: its guide says it uses nested loops mainly for cross joins, and hash or merge joins for
   * joins on columns ("Creating and interpreting a query plan", join operators).
   */
  protected override joinSettings(): PgStatement[] {
    return [];
  }

  /**
   * Redshift has no `lock_timeout` (its configuration parameters are a short list); a query
   * waiting on a lock is bounded by the workload management's query timeout instead.
   */
  protected override lockWaitSettings(): PgStatement[] {
    return [];
  }

  /** Redshift spreads every query over the cluster's slices; a session has nothing to set. */
  override singleProcess(): PgStatement[] {
    return [];
  }

  /**
   * STV_PARTITIONS gives used and capacity "in 1 MB disk blocks" and SVV_TABLE_INFO a table's
   * size "in 1 MB data blocks"; both are "visible only to superusers" (a SELECT grant opens
   * SVV_TABLE_INFO), so an empty answer means "not checked", not "no space". Serverless has no
   * STV_PARTITIONS: its storage is managed.
   */
  override diskSpace(schema: string): { free: PgStatement; tableSize: PgStatement } {
    const size = builder();
    return {
      free: sql("SELECT sum(capacity) - sum(used) AS free_mb FROM stv_partitions WHERE part_begin = 0"),
      tableSize: size.build(
        `SELECT size AS size_mb FROM svv_table_info WHERE "schema" = ${size.bind(schema)} AND "table" = 'exam_alt_score'`,
      ),
    };
  }

  override tenant(schema: string, runId?: string): RedshiftTenantSql {
    return new RedshiftTenantSql(schema, runId, this.capabilities.workTables);
  }
}

export class RedshiftTenantSql extends PostgresTenantSql {
  /**
   * Made with `LIKE`, whose table "inherits the encoding, distribution key, sort key, and NOT
   * NULL attributes of the parent table" ("CREATE TABLE", LIKE parent_table); a CTAS table
   * inherits only the keys, and picks its encodings anew.
   */
  override backup(backupTable: string): PgStatement[] {
    const backup = this.table(backupTable);
    return [
      sql(`CREATE TABLE ${backup} (LIKE ${this.live})`),
      sql(`INSERT INTO ${backup} (${COLUMN_LIST}) SELECT ${COLUMN_LIST} FROM ${this.live}`),
    ];
  }

  /**
   * Redshift runs ANALYZE by itself on a table made by CREATE TEMP TABLE AS (the ANALYZE
   * command's usage notes): rollback's list of keys has its statistics already.
   */
  override rollback(): RollbackSql {
    return new RollbackSql(this.schema, { analyzeKeys: false });
  }

  /**
   * "The COPY command performs an analysis automatically when it loads data into an empty
   * table" (Redshift's guide, Analyzing tables): the stage has its statistics already.
   */
  override analyzeStage(): PgStatement[] {
    return [];
  }

  /** Redshift has no `default_statistics_target`: its ANALYZE picks its own sample. */
  override analyzeRowsSettings(): PgStatement[] {
    return [];
  }

  /**
   * Deleted rows keep their blocks until a vacuum; DELETE ONLY reclaims them without the sort.
   * "You can't run VACUUM within a transaction block": it runs after the COMMIT.
   */
  override reclaimDeleted(): PgStatement[] {
    return [sql(`VACUUM DELETE ONLY ${this.live}`)];
  }

  /**
   * Redshift has no BIT type ("Unsupported PostgreSQL data types"); STRTOL returns the BIGINT
   * a string of the given base stands for ("STRTOL function").
   */
  protected override hexToBigint(hex: string): string {
    return `STRTOL(${hex}, 16)`;
  }

  /** Redshift has no `work_mem` (see `memorySettings`). */
  override replaceMemory(): PgStatement[] {
    return [];
  }

  /** "Uniqueness, primary key, and foreign key constraints are informational only; they are not enforced" (Defining table constraints). */
  override examKeyEnforced(): undefined {
    return undefined;
  }

  /**
   * No `hashtext` or `concat_ws` on Redshift: the first 32 bits of MD5 ("MD5 function") of the
   * columns as VARCHAR, joined with `||`; each hash is below 2^32, so their SUM, a BIGINT for BIGINT
   * arguments ("SUM function"), holds two billion rows without overflow.
   */
  protected override rowHash(): string {
    const text = EXAM_ALT_SCORE_COLUMNS.map((column) => `CAST(t.${column} AS VARCHAR)`).join(" || '|' || ");
    return this.hexToBigint(`LEFT(MD5(${text}), 8)`);
  }

  /**
   * Redshift reads the parts listed in the manifest from S3 itself. `NULL AS '\\N'` because
   * Redshift string literals treat the backslash as an escape; `MAXERROR 0` so that no row is
   * dropped silently (runbook defect 2); the staged timestamps are UTC, which is how
   * `TIMEFORMAT 'auto'` reads a value without an offset into a timestamptz.
   */
  override load(manifestUri: string, access: S3Access): LoadSql {
    return {
      copiesFrom: "s3",
      prepare: [this.createStage()],
      copy: sql([
        `COPY ${this.stage} (${COLUMN_LIST})`,
        `FROM ${locationLiteral(manifestUri)}`,
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
      // The rows the last COPY of this session rejected. STL_LOAD_ERRORS "only contains queries
      // run on main provisioned clusters … not … on serverless namespaces", where
      // SYS_LOAD_ERROR_DETAIL has them (its documented columns: no raw value).
      loadErrors: [
        sql(
          "SELECT line_number, trim(colname) AS colname, trim(err_reason) AS err_reason, trim(raw_field_value) AS raw_field_value " +
            `FROM stl_load_errors WHERE query = pg_last_copy_id() ORDER BY line_number LIMIT ${LOAD_ERRORS_SHOWN}`,
        ),
        sql(
          "SELECT line_number, trim(column_name) AS colname, trim(error_message) AS err_reason, trim(file_name) AS file_name " +
            `FROM sys_load_error_detail WHERE query_id = pg_last_copy_id() ORDER BY line_number LIMIT ${LOAD_ERRORS_SHOWN}`,
        ),
      ],
    };
  }
}

/**
 * How COPY authenticates to S3: `IAM_ROLE 'arn…'`, or the older `CREDENTIALS 'aws_iam_role=arn…'`
 * the runbook uses. A configured value that already starts with `aws_iam_role=` keeps that form.
 */
export function redshiftAuthorization(role: string, form: "iam-role" | "credentials"): string {
  if (role.startsWith("aws_iam_role=")) return `CREDENTIALS ${roleLiteral(role)}`;
  return form === "credentials"
    ? `CREDENTIALS ${roleLiteral(`aws_iam_role=${role}`)}`
    : `IAM_ROLE ${roleLiteral(role)}`;
}

export const REDSHIFT = new RedshiftDialect();
