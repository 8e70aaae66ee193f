/**
 * Amazon Redshift, stood in for by the local PostgreSQL: the ONE place that names every stand-in.
 *
 * The Redshift dialect runs for real against PostgreSQL 15, on the real S3-compatible server of
 * the tests. Only what PostgreSQL lacks is stood in for; each entry of `REDSHIFT_STAND_INS` says
 * what Redshift has, what stands in, and why the stand-in behaves as Redshift does (and where it
 * does not). Nothing else is mocked: every other statement the tool sends runs on PostgreSQL as
 * it is, so a statement PostgreSQL accepts but Redshift refuses still passes here (`NOT_STOOD_IN`
 * names the known cases).
 *
 * How a test turns them on:
 * - in the test database: `createRedshiftStandInObjects` (the SQL objects, as the database owner;
 *   `World.create({ olap: "redshift-stand-in" })` does it);
 * - in this process (library-level tests): `installRedshiftStandIns` (SQL objects and the
 *   statement translation of `pg.Client`), undone by its `uninstall()`;
 * - in a command-line child: `redshiftStandInEnv(variant)` gives `NODE_OPTIONS=--import
 *   …/redshift-preload.js` and the variant (`World.cliEnv()` adds it).
 *
 * Two variants: `provisioned` (a COPY that fails fills `stl_load_errors` and
 * `sys_load_error_detail`; its error names `stl_load_errors`) and `serverless` (only
 * `sys_load_error_detail` is filled, `stl_load_errors` stays empty; its error names
 * `sys_load_error_detail`).
 */
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { pathToFileURL } from "node:url";
import pg from "pg";
import { from as copyFrom } from "pg-copy-streams";

export type RedshiftVariant = "provisioned" | "serverless";

/** Environment variable a command-line child reads its variant from (default provisioned). */
export const VARIANT_ENV = "RDW_REDSHIFT_STAND_IN";
/**
 * `copy`: the stand-in COPY stops after sending its first bytes to PostgreSQL, says
 * `redshift stand-in: test pause in COPY` on stderr and waits to be killed — a COPY under way
 * on the server, for the crash tests (the tool's own RDW_BACKFILL_TEST_PAUSE=load is reached
 * only on the COPY FROM STDIN path).
 */
export const PAUSE_ENV = "RDW_REDSHIFT_STAND_IN_PAUSE";
export const PAUSE_MESSAGE = "redshift stand-in: test pause in COPY";

/** `version()` of a Redshift cluster (provisioned and serverless say the same). */
export const REDSHIFT_VERSION =
  "PostgreSQL 8.0.2 on i686-pc-linux-gnu, compiled by GCC gcc (GCC) 3.4.2 20041017 (Red Hat 3.4.2-6.fc3), Redshift 1.0.77467";

/** Where the stand-ins keep their own state; not on anyone's search_path. */
export const SUPPORT_SCHEMA = "rdw_standin";

/** What the SQL stand-ins are installed for. */
export interface StandInTarget {
  /** The test database (its search_path puts public before pg_catalog). */
  database: string;
  /** Logins with a search_path of their own (tenant roles): public and pg_catalog are appended in this database. */
  roles: readonly string[];
}

interface ResultLike {
  command: string;
  rowCount: number | null;
  oid: number | null;
  rows: unknown[];
  fields: unknown[];
}

interface TranslationContext {
  client: pg.Client;
  /** The unpatched `query`, on the same client and session. */
  query: (text: string, values?: unknown[]) => Promise<pg.QueryResult>;
  /** The unpatched `query` for a submittable (COPY FROM STDIN). */
  submit: <T extends pg.Submittable>(submittable: T) => T;
  variant: RedshiftVariant;
  env: NodeJS.ProcessEnv;
}

interface Translation {
  matches(text: string): boolean;
  run(context: TranslationContext, text: string): Promise<ResultLike>;
}

export interface RedshiftStandIn {
  /** As the tool's statements name it. */
  name: string;
  kind: "function" | "system view" | "statement" | "setting";
  /** What Redshift has. */
  redshift: string;
  /** What stands in for it here. */
  standIn: string;
  /** Why the stand-in answers as Redshift does, and where it does not. */
  faithful: string;
  /** Created in the test database by its owner. */
  install?: (admin: pg.Client, target: StandInTarget) => Promise<void>;
  /** The client-side translation of a statement PostgreSQL cannot parse. */
  translation?: Translation;
}

const runAll = (statements: readonly string[]) => async (admin: pg.Client) => {
  for (const statement of statements) await admin.query(statement);
};

/** The documented list: every Redshift feature the tests stand in for, and nothing else. */
export const REDSHIFT_STAND_INS: readonly RedshiftStandIn[] = [
  {
    name: "version()",
    kind: "function",
    redshift: `pg_catalog.version() says '${REDSHIFT_VERSION}' (a PostgreSQL 8.0.2 heritage string ending in Redshift's own version).`,
    standIn:
      "public.version() returning that text; the database's search_path (and each tenant role's in this database) lists public before pg_catalog, so an unqualified version() finds it.",
    faithful:
      "The tool only matches /redshift/i on it (dialects/choose.ts), and this is Redshift's exact text. pg_catalog.version() still says PostgreSQL when asked for by its full name.",
    install: async (admin) => {
      await admin.query(
        `CREATE OR REPLACE FUNCTION public.version() RETURNS text LANGUAGE sql STABLE AS $$ SELECT ${literal(REDSHIFT_VERSION)}::text $$`,
      );
    },
  },
  {
    name: "search_path with public before pg_catalog",
    kind: "setting",
    redshift: "Nothing to stand in for: on Redshift version() is simply Redshift's.",
    standIn:
      'ALTER DATABASE … SET search_path = "$user", public, pg_catalog; for each listed role with a search_path of its own (tenant roles name their schema), ALTER ROLE … IN DATABASE … SET search_path = <its own>, public, pg_catalog.',
    faithful:
      "current_schema() is unchanged (the first schema is the same), so the tool still finds a tenant's schema from its login. Only names defined in public by these stand-ins shadow pg_catalog.",
    install: async (admin, target) => {
      await admin.query(
        `ALTER DATABASE ${ident(target.database)} SET search_path = "$user", public, pg_catalog`,
      );
      for (const role of target.roles) {
        const { rows } = await admin.query<{ setting: string }>(
          `SELECT substr(c, length('search_path=') + 1) AS setting
             FROM pg_db_role_setting s JOIN pg_roles r ON r.oid = s.setrole, unnest(s.setconfig) c
            WHERE r.rolname = $1 AND s.setdatabase = 0 AND c LIKE 'search_path=%'`,
          [role],
        );
        const own = rows[0]?.setting;
        if (own === undefined) continue; // the database's setting applies
        await admin.query(
          `ALTER ROLE ${ident(role)} IN DATABASE ${ident(target.database)} SET search_path = ${own}, public, pg_catalog`,
        );
      }
    },
  },
  {
    name: "pg_last_copy_id()",
    kind: "function",
    redshift:
      "INTEGER: the query id of the session's last COPY that began loading, also when the load then failed (that is how stl_load_errors is queried); -1 when the session ran none. Not updated by a COPY that fails before loading (syntax, access, missing files) nor by one whose transaction rolls back.",
    standIn:
      "public.pg_last_copy_id() reads the session setting rdw_standin.last_copy_id, which the translated COPY sets (rdw_standin.copy_started(), from a sequence) once the manifest was read and the files found, before it sends any row.",
    faithful:
      "Session-scoped like Redshift's (a custom setting set with set_config(…, false)); it is rolled back with the transaction, as Redshift's is not updated then.",
    install: runAll([
      `CREATE SEQUENCE IF NOT EXISTS ${SUPPORT_SCHEMA}.query_id START 4000`,
      `CREATE OR REPLACE FUNCTION ${SUPPORT_SCHEMA}.copy_started() RETURNS bigint LANGUAGE plpgsql SECURITY DEFINER
         SET search_path = pg_catalog AS $$
       DECLARE id bigint := nextval('${SUPPORT_SCHEMA}.query_id');
       BEGIN
         PERFORM set_config('rdw_standin.last_copy_id', id::text, false);
         PERFORM set_config('rdw_standin.last_copy_count', '0', false);
         RETURN id;
       END $$`,
      `CREATE OR REPLACE FUNCTION public.pg_last_copy_id() RETURNS integer LANGUAGE sql VOLATILE AS $$
         SELECT coalesce(nullif(current_setting('rdw_standin.last_copy_id', true), ''), '-1')::integer $$`,
    ]),
  },
  {
    name: "pg_last_copy_count()",
    kind: "function",
    redshift:
      "BIGINT: rows loaded by the session's last COPY; 0 when none ran or the last one failed while loading; a COPY that fails before loading leaves the previous count.",
    standIn:
      "public.pg_last_copy_count() reads the session setting rdw_standin.last_copy_count: set to 0 with the COPY id, then to PostgreSQL's own COPY row count when the load succeeded.",
    faithful:
      "The count is what PostgreSQL's COPY reports for exactly the rows it inserted (one COPY over every file of the manifest, all or nothing as MAXERROR 0 is).",
    install: runAll([
      `CREATE OR REPLACE FUNCTION public.pg_last_copy_count() RETURNS bigint LANGUAGE sql VOLATILE AS $$
         SELECT coalesce(nullif(current_setting('rdw_standin.last_copy_count', true), ''), '0')::bigint $$`,
    ]),
  },
  {
    name: "strtol(text, integer)",
    kind: "function",
    redshift:
      "STRTOL(num_string, base): BIGINT of a number written in base 2–36; leading white space, an optional sign, and for base 16 an optional 0x; stops at the first character that is not a digit of the base; '' gives 0; NULL gives NULL; must fit in 64 bits.",
    standIn: "public.strtol(text, integer), PL/pgSQL, IMMUTABLE STRICT, digits accumulated in numeric.",
    faithful:
      "Gives the documented examples (see the self-test): strtol('0xf',16)=15, ('abcd1234',16)=2882343476, ('1234567',10)=1234567, ('1234567',8)=342391, ('110101',2)=53; a value outside BIGINT is an error, a base outside 2–36 too.",
    install: runAll([
      `CREATE OR REPLACE FUNCTION public.strtol(num_string text, base integer) RETURNS bigint
         LANGUAGE plpgsql IMMUTABLE STRICT AS $$
       DECLARE
         s text := ltrim(num_string, E' \\t\\n\\r\\f\\v');
         negative boolean := false;
         result numeric := 0;
         ch text;
         digit integer;
       BEGIN
         IF base < 2 OR base > 36 THEN
           RAISE EXCEPTION 'STRTOL: base % is not between 2 and 36', base;
         END IF;
         IF left(s, 1) IN ('+', '-') THEN
           negative := left(s, 1) = '-';
           s := substr(s, 2);
         END IF;
         IF base = 16 AND lower(left(s, 2)) = '0x' THEN
           s := substr(s, 3);
         END IF;
         FOR i IN 1 .. length(s) LOOP
           ch := lower(substr(s, i, 1)) COLLATE "C";
           digit := CASE WHEN ch BETWEEN '0' AND '9' THEN ascii(ch) - 48
                         WHEN ch BETWEEN 'a' AND 'z' THEN ascii(ch) - 87
                         ELSE 99 END;
           EXIT WHEN digit >= base;
           result := result * base + digit;
         END LOOP;
         RETURN (CASE WHEN negative THEN -result ELSE result END)::bigint;
       END $$`,
    ]),
  },
  {
    name: "stl_load_errors",
    kind: "system view",
    redshift:
      "Provisioned clusters: one row per load error (userid, slice, tbl, starttime, session, query INTEGER, filename CHAR(256), line_number BIGINT, colname CHAR(127), type CHAR(10), col_length CHAR(10), position, raw_line CHAR(1024), raw_field_value CHAR(1024), err_code, err_reason CHAR(100), is_partial, start_offset, copy_job_id). Visible to all users; a regular user sees only their own rows. Serverless: holds nothing of its COPYs.",
    standIn:
      "A view public.stl_load_errors over rdw_standin.stl_load_errors (same columns and types), SELECT granted to PUBLIC, filtered to the user's rows unless superuser; rows written by the translated COPY when it fails on a row (provisioned variant only).",
    faithful:
      "CHAR columns are blank-padded as Redshift's are, so readers must trim(). line_number is the record's number within its own file (PostgreSQL's line of the single COPY mapped back to the file), filename the manifest entry. err_code and err_reason use Redshift's load error codes (1202 extra columns, 1206 timestamp, 1207 invalid digit, 1213 NOT NULL, 1214 delimiter not found, …); PostgreSQL's own message is in the thrown error's detail. position is the offset of the first bad character where known, else 0. One row for the first bad record only: with MAXERROR 0 Redshift stops there too.",
    install: runAll([
      `CREATE TABLE IF NOT EXISTS ${SUPPORT_SCHEMA}.stl_load_errors (
         userid integer, slice integer, tbl integer, starttime timestamp, session integer, query integer,
         filename character(256), line_number bigint, colname character(127), type character(10),
         col_length character(10), position integer, raw_line character(1024), raw_field_value character(1024),
         err_code integer, err_reason character(100), is_partial integer, start_offset bigint, copy_job_id bigint)`,
      `CREATE OR REPLACE VIEW public.stl_load_errors AS
         SELECT * FROM ${SUPPORT_SCHEMA}.stl_load_errors
          WHERE userid = (SELECT oid::integer FROM pg_catalog.pg_roles WHERE rolname = current_user)
             OR (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user)`,
      "GRANT SELECT ON public.stl_load_errors TO PUBLIC",
    ]),
  },
  {
    name: "sys_load_error_detail",
    kind: "system view",
    redshift:
      "Provisioned and serverless: one row per load error (user_id, query_id BIGINT, transaction_id, session_id, database_name CHAR(64), table_id, start_time, file_name CHAR(256), line_number BIGINT, column_name CHAR(127), column_type CHAR(10), column_length CHAR(10), position, error_code, error_message CHAR(512)). Visible to all users; a regular user sees only their own rows. The AWS documentation lists no raw_line or raw_field_value column here.",
    standIn:
      "A view public.sys_load_error_detail over rdw_standin.sys_load_error_detail (those columns), SELECT granted to PUBLIC, filtered like stl_load_errors; filled by the translated COPY in both variants.",
    faithful:
      "Same values as the stl_load_errors row of the same error (query_id = pg_last_copy_id()). Deliberately without raw_field_value: a query of it fails here as it would on Redshift.",
    install: runAll([
      `CREATE TABLE IF NOT EXISTS ${SUPPORT_SCHEMA}.sys_load_error_detail (
         user_id integer, query_id bigint, transaction_id bigint, session_id integer, database_name character(64),
         table_id integer, start_time timestamp, file_name character(256), line_number bigint,
         column_name character(127), column_type character(10), column_length character(10), position integer,
         error_code integer, error_message character(512))`,
      `CREATE OR REPLACE VIEW public.sys_load_error_detail AS
         SELECT * FROM ${SUPPORT_SCHEMA}.sys_load_error_detail
          WHERE user_id = (SELECT oid::integer FROM pg_catalog.pg_roles WHERE rolname = current_user)
             OR (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user)`,
      "GRANT SELECT ON public.sys_load_error_detail TO PUBLIC",
      // Written from a separate connection of the same login, committed at once whatever the
      // COPY's transaction does, as Redshift's system logging is.
      `CREATE OR REPLACE FUNCTION ${SUPPORT_SCHEMA}.record_load_error(e jsonb) RETURNS void
         LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $$
       DECLARE uid integer := (SELECT oid::integer FROM pg_roles WHERE rolname = session_user);
       BEGIN
         IF e->>'variant' = 'provisioned' THEN
           INSERT INTO ${SUPPORT_SCHEMA}.stl_load_errors VALUES (
             uid, 0, (e->>'tbl')::integer, (e->>'starttime')::timestamp, (e->>'session')::integer,
             (e->>'query')::integer, left(e->>'filename', 256), (e->>'line_number')::bigint,
             left(e->>'colname', 127), left(e->>'type', 10), left(e->>'col_length', 10),
             (e->>'position')::integer, left(e->>'raw_line', 1024), left(e->>'raw_field_value', 1024),
             (e->>'err_code')::integer, left(e->>'err_reason', 100), 0, 0, 0);
         END IF;
         INSERT INTO ${SUPPORT_SCHEMA}.sys_load_error_detail VALUES (
           uid, (e->>'query')::bigint, 0, (e->>'session')::integer, left(current_database(), 64),
           (e->>'tbl')::integer, (e->>'starttime')::timestamp, left(e->>'filename', 256),
           (e->>'line_number')::bigint, left(e->>'colname', 127), left(e->>'type', 10),
           left(e->>'col_length', 10), (e->>'position')::integer, (e->>'err_code')::integer,
           left(e->>'err_reason', 512));
       END $$`,
    ]),
  },
  {
    name: "stv_partitions",
    kind: "system view",
    redshift:
      "Provisioned clusters: one row per disk partition, with used and capacity in 1 MB disk blocks (part_begin = 0 for a disk's first partition). Visible only to superusers.",
    standIn: `A view public.stv_partitions over ${SUPPORT_SCHEMA}.disk (one disk, capacity and used in MB, 1 TB free unless a test sets it), visible only to superusers.`,
    faithful:
      "The columns the tool reads (capacity, used, part_begin), in the same unit; a regular user sees no row, as on Redshift. The numbers are the test's, since a local disk is not a cluster's.",
    install: runAll([
      `CREATE TABLE IF NOT EXISTS ${SUPPORT_SCHEMA}.disk (capacity bigint NOT NULL, used bigint NOT NULL)`,
      `INSERT INTO ${SUPPORT_SCHEMA}.disk SELECT 1048576, 0 WHERE NOT EXISTS (SELECT 1 FROM ${SUPPORT_SCHEMA}.disk)`,
      `CREATE OR REPLACE VIEW public.stv_partitions AS
         SELECT 0 AS owner, 'local'::varchar AS host, 0 AS diskno, 0 AS part_begin, capacity AS part_end,
                used, 0 AS tossed, capacity
           FROM ${SUPPORT_SCHEMA}.disk
          WHERE (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user)`,
      "GRANT SELECT ON public.stv_partitions TO PUBLIC",
    ]),
  },
  {
    name: "svv_table_info",
    kind: "system view",
    redshift:
      'One row per user table: "schema", "table", size (the table\'s size in 1 MB data blocks), … Visible only to superusers unless SELECT is granted.',
    standIn:
      "A view public.svv_table_info over pg_class: schema, table and size = the table's pg_total_relation_size in whole MB (at least 1), visible only to superusers.",
    faithful:
      "Same names and unit; PostgreSQL's size is its heap, not Redshift's columnar blocks (which take at least one block per column and slice), so sizes are smaller here.",
    install: runAll([
      `CREATE OR REPLACE VIEW public.svv_table_info AS
         SELECT n.nspname::varchar AS "schema", c.relname::varchar AS "table",
                greatest(1, ceil(pg_catalog.pg_total_relation_size(c.oid) / 1048576.0))::bigint AS size
           FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
          WHERE c.relkind = 'r' AND (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user)`,
      "GRANT SELECT ON public.svv_table_info TO PUBLIC",
    ]),
  },
  {
    name: "COPY … FROM 's3://…' (MANIFEST)",
    kind: "statement",
    redshift:
      "COPY table [(columns)] FROM 's3://…' IAM_ROLE '…' | CREDENTIALS 'aws_iam_role=…' [FORMAT AS] CSV NULL AS '…' TIMEFORMAT 'auto' [MANIFEST] COMPUPDATE … STATUPDATE … MAXERROR n: the cluster reads the objects itself. With MANIFEST the URI is a JSON manifest whose entries name every object ('mandatory': true → error when missing; default false); COPY terminates when no file is found. All or nothing: with MAXERROR 0 the first bad row fails the COPY, and the error says to check stl_load_errors (serverless: sys_load_error_detail). TIMEFORMAT 'auto' reads a timestamptz without an offset as UTC.",
    standIn:
      "pg.Client.prototype.query is patched in the client process: such a statement is parsed, the manifest (or the objects under the prefix) read from the S3-compatible server with @aws-sdk/client-s3 (the tool's own s3ClientConfig and the AWS_* environment), and every object streamed, in manifest order, into ONE `COPY table (columns) FROM STDIN WITH (FORMAT csv, NULL …)` on the same client and session, with the session TimeZone UTC for its duration. On a bad row the load error is written to the system views and the COPY fails with Redshift's message (code XX000).",
    faithful:
      "Same table, same columns, same session (temporary tables are visible), same all-or-nothing outcome and row count; the bytes loaded are exactly the staged objects. IAM_ROLE/CREDENTIALS must be present and well-formed but are not used (the local server has no IAM). Options the stand-in cannot honour (MAXERROR > 0, a delimiter, other formats, IGNOREHEADER, …) are refused rather than ignored. Redshift reads the files in parallel; the order here is the manifest's (line numbers are per file either way). Error texts for missing files are the stand-in's wording.",
    translation: { matches: isCopyFromS3, run: copyFromS3 },
  },
  {
    name: "VACUUM DELETE ONLY <table> [TO n PERCENT]",
    kind: "statement",
    redshift: "Reclaims the space of deleted rows without sorting; cannot run inside a transaction block.",
    standIn: "Translated in the same client patch to PostgreSQL's `VACUUM <table>`.",
    faithful:
      "PostgreSQL's plain VACUUM reclaims dead rows and does not reorder the table either; it too refuses to run in a transaction block. The threshold (TO n PERCENT) has no PostgreSQL counterpart and is dropped.",
    translation: {
      matches: (text) => VACUUM_DELETE_ONLY.test(text),
      run: (context, text) => context.query(`VACUUM ${VACUUM_DELETE_ONLY.exec(text)![1]}`).then(asResult),
    },
  },
];

/**
 * What is NOT stood in for: PostgreSQL runs these as they are, so a test here cannot show that
 * Redshift refuses or answers them differently. Keep in mind when a test passes.
 */
export const NOT_STOOD_IN: readonly string[] = [
  "Bind parameters where Redshift does not accept them (e.g. LIMIT $n): PostgreSQL accepts them.",
  "Functions and types PostgreSQL has and Redshift lacks or treats differently (e.g. extract(epoch …) on timestamptz, generate_series, ON CONFLICT, MERGE on older clusters): run by PostgreSQL.",
  "Transaction isolation and locking: PostgreSQL's apply.",
  "Other Redshift system tables and views (stl_query, stl_s3client_error, stl_loaderror_detail, …): absent.",
];

/* ------------------------------------------------------------------------------------------- */
/* Installation                                                                                 */

/** Creates the SQL stand-ins in the test database (as its owner; new sessions see them). */
export async function createRedshiftStandInObjects(admin: pg.Client, target: StandInTarget): Promise<void> {
  await admin.query(`CREATE SCHEMA IF NOT EXISTS ${SUPPORT_SCHEMA}`);
  await admin.query(`GRANT USAGE ON SCHEMA ${SUPPORT_SCHEMA} TO PUBLIC`);
  for (const standIn of REDSHIFT_STAND_INS) await standIn.install?.(admin, target);
}

/** Drops what `createRedshiftStandInObjects` made. */
export async function dropRedshiftStandInObjects(admin: pg.Client, target: StandInTarget): Promise<void> {
  await admin.query(
    "DROP VIEW IF EXISTS public.stl_load_errors, public.sys_load_error_detail, public.stv_partitions, public.svv_table_info",
  );
  await admin.query(
    "DROP FUNCTION IF EXISTS public.version(), public.pg_last_copy_id(), public.pg_last_copy_count(), public.strtol(text, integer)",
  );
  await admin.query(`DROP SCHEMA IF EXISTS ${SUPPORT_SCHEMA} CASCADE`);
  await admin.query(`ALTER DATABASE ${ident(target.database)} RESET search_path`);
  for (const role of target.roles) {
    await admin.query(`ALTER ROLE ${ident(role)} IN DATABASE ${ident(target.database)} RESET search_path`);
  }
}

let originalQuery: pg.Client["query"] | undefined;

/**
 * Patches `pg.Client.prototype.query` in this process so that the statements of
 * `REDSHIFT_STAND_INS` with a translation run as Redshift would run them. Every other call
 * (text, config objects, submittables such as COPY FROM STDIN) goes to pg unchanged. Returns
 * the uninstall function.
 */
export function installClientTranslation(options: {
  variant: RedshiftVariant;
  env?: NodeJS.ProcessEnv;
}): () => void {
  if (originalQuery) throw new Error("redshift stand-in: the client translation is already installed");
  const original = pg.Client.prototype.query;
  originalQuery = original;
  const translations = REDSHIFT_STAND_INS.flatMap((standIn) =>
    standIn.translation ? [standIn.translation] : [],
  );
  function patchedQuery(this: pg.Client, config: unknown, values?: unknown, callback?: unknown): unknown {
    const call = (...args: unknown[]) => (original as (...a: unknown[]) => unknown).apply(this, args);
    const isSubmittable =
      typeof config === "object" &&
      config !== null &&
      typeof (config as pg.Submittable).submit === "function";
    const text =
      typeof config === "string"
        ? config
        : typeof config === "object" && config !== null && !isSubmittable
          ? (config as { text?: unknown }).text
          : undefined;
    const translation =
      typeof text === "string" ? translations.find((candidate) => candidate.matches(text)) : undefined;
    if (!translation || typeof text !== "string") return call(config, values, callback);
    const context: TranslationContext = {
      client: this,
      query: (sql, params) => call(sql, params) as Promise<pg.QueryResult>,
      submit: (submittable) => call(submittable) as typeof submittable,
      variant: options.variant,
      env: options.env ?? process.env,
    };
    const done =
      typeof values === "function"
        ? values
        : typeof callback === "function"
          ? callback
          : typeof (config as { callback?: unknown }).callback === "function"
            ? (config as { callback: unknown }).callback
            : undefined;
    const result = translation.run(context, text);
    if (typeof done === "function") {
      result.then(
        (value) => (done as (error: Error | null, result?: ResultLike) => void)(null, value),
        (error: Error) => (done as (error: Error | null) => void)(error),
      );
      return undefined;
    }
    return result;
  }
  pg.Client.prototype.query = patchedQuery as pg.Client["query"];
  return uninstallClientTranslation;
}

export function uninstallClientTranslation(): void {
  if (!originalQuery) return;
  pg.Client.prototype.query = originalQuery;
  originalQuery = undefined;
}

/** SQL objects and client translation in this process, for library-level tests. */
export async function installRedshiftStandIns(
  admin: pg.Client,
  options: StandInTarget & { variant?: RedshiftVariant; env?: NodeJS.ProcessEnv },
): Promise<{ uninstall(): Promise<void> }> {
  await createRedshiftStandInObjects(admin, options);
  installClientTranslation({ variant: options.variant ?? "provisioned", env: options.env });
  return {
    async uninstall() {
      uninstallClientTranslation();
      await dropRedshiftStandInObjects(admin, options);
    },
  };
}

/** The built preload module a command-line child imports first. */
export const PRELOAD = new URL("./redshift-preload.js", import.meta.url);

/** Environment for a command-line child: the preload module and the variant. */
export function redshiftStandInEnv(
  variant: RedshiftVariant,
  base: NodeJS.ProcessEnv = process.env,
): Record<string, string> {
  const existing = base.NODE_OPTIONS?.trim();
  return {
    NODE_OPTIONS: `${existing ? `${existing} ` : ""}--import ${pathToFileURL(PRELOAD.pathname).href}`,
    [VARIANT_ENV]: variant,
  };
}

export function variantFromEnv(env: NodeJS.ProcessEnv): RedshiftVariant {
  const value = env[VARIANT_ENV] ?? "provisioned";
  if (value !== "provisioned" && value !== "serverless") {
    throw new Error(`${VARIANT_ENV}=${value}: expected provisioned or serverless`);
  }
  return value;
}

/* ------------------------------------------------------------------------------------------- */
/* COPY … FROM 's3://…'                                                                         */

const VACUUM_DELETE_ONLY =
  /^\s*VACUUM\s+DELETE\s+ONLY\s+((?:"[^"]*"|[A-Za-z_][\w$]*)(?:\.(?:"[^"]*"|[A-Za-z_][\w$]*))*)(?:\s+TO\s+\d+\s+PERCENT)?\s*;?\s*$/i;

const COPY_HEAD =
  /^\s*COPY\s+((?:"[^"]*"|[A-Za-z_][\w$]*)(?:\.(?:"[^"]*"|[A-Za-z_][\w$]*))*)\s*(?:\(([^)]*)\))?\s*FROM\s+'(s3:\/\/[^']*)'/iy;

export interface CopyFromS3 {
  table: string;
  columns: string[] | undefined;
  uri: string;
  manifest: boolean;
  nullAs: string;
  authorization: string;
}

class StandInSyntaxError extends Error {}

/** Any COPY … FROM 's3://…', also one with options the stand-in refuses (it then fails as Redshift's would). */
function isCopyFromS3(text: string): boolean {
  COPY_HEAD.lastIndex = 0;
  return COPY_HEAD.test(text);
}

/**
 * Parses Redshift's COPY from S3 as far as the stand-in can honour it. Returns undefined for
 * any other statement; throws for a COPY from S3 with an option the stand-in cannot honour.
 */
export function parseCopyFromS3(text: string): CopyFromS3 | undefined {
  COPY_HEAD.lastIndex = 0;
  const head = COPY_HEAD.exec(text);
  if (!head) return undefined;
  const copy: CopyFromS3 = {
    table: head[1]!,
    columns: head[2]?.split(",").map((column) => column.trim()),
    uri: head[3]!,
    manifest: false,
    nullAs: "\\N",
    authorization: "",
  };
  let csv = false;
  const options: [RegExp, (match: RegExpExecArray) => void][] = [
    [/\s*IAM_ROLE\s+(?:'((?:[^']|'')*)'|(default)\b)/iy, (m) => (copy.authorization = m[1] ?? m[2]!)],
    [/\s*CREDENTIALS\s+(?:AS\s+)?'((?:[^']|'')*)'/iy, (m) => (copy.authorization = m[1]!)],
    [/\s*(?:FORMAT\s+(?:AS\s+)?)?CSV\b(?:\s+QUOTE\s+(?:AS\s+)?'"')?/iy, () => (csv = true)],
    [/\s*NULL\s+(?:AS\s+)?'((?:[^'\\]|\\.|'')*)'/iy, (m) => (copy.nullAs = redshiftString(m[1]!))],
    [/\s*TIMEFORMAT\s+(?:AS\s+)?'auto'/iy, () => undefined],
    [/\s*DATEFORMAT\s+(?:AS\s+)?'auto'/iy, () => undefined],
    [/\s*MANIFEST\b/iy, () => (copy.manifest = true)],
    // Compression analysis and statistics: no effect on what is loaded.
    [/\s*(?:COMPUPDATE|STATUPDATE)(?:\s+(?:ON|OFF|TRUE|FALSE|PRESET))?\b/iy, () => undefined],
    [/\s*MAXERROR\s+(?:AS\s+)?0\b/iy, () => undefined],
    [/\s*REGION\s+(?:AS\s+)?'[^']*'/iy, () => undefined],
  ];
  let at = COPY_HEAD.lastIndex;
  const end = /\s*;?\s*$/y;
  for (;;) {
    end.lastIndex = at;
    if (end.test(text)) break;
    const option = options.find(([pattern]) => {
      pattern.lastIndex = at;
      return pattern.test(text);
    });
    if (!option) {
      throw new StandInSyntaxError(
        `redshift stand-in: COPY option not supported by the stand-in at: ${text.slice(at).trim().split("\n")[0]}`,
      );
    }
    const [pattern, apply] = option;
    pattern.lastIndex = at;
    apply(pattern.exec(text)!);
    at = pattern.lastIndex;
  }
  if (!csv)
    throw new StandInSyntaxError("redshift stand-in: only FORMAT AS CSV is supported by the stand-in");
  if (!copy.authorization) {
    throw new StandInSyntaxError("redshift stand-in: COPY from S3 needs IAM_ROLE or CREDENTIALS");
  }
  const role = copy.authorization.replace(/^aws_iam_role=/, "");
  if (
    copy.authorization !== "default" &&
    !/^aws_access_key_id=/.test(copy.authorization) &&
    !/^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]+$/.test(role)
  ) {
    throw new StandInSyntaxError(`redshift stand-in: invalid IAM role ARN in COPY: ${copy.authorization}`);
  }
  return copy;
}

/** A Redshift string literal's content: '' is a quote and a backslash escapes the next character. */
function redshiftString(content: string): string {
  return content.replace(/''/g, "'").replace(/\\(.)/g, "$1");
}

interface StagedFile {
  url: string;
  bucket: string;
  key: string;
  /** Records of the single COPY before this file's first one. */
  firstRecord: number;
  records: number;
}

interface TargetColumn {
  attname: string;
  typname: string;
  atttypmod: number;
}

type S3 = {
  send(command: unknown): Promise<{
    Body?: unknown;
    Contents?: { Key?: string }[];
    IsTruncated?: boolean;
    NextContinuationToken?: string;
  }>;
  destroy(): void;
};

async function s3Client(
  env: NodeJS.ProcessEnv,
): Promise<{ client: S3; sdk: typeof import("@aws-sdk/client-s3") }> {
  // Loaded on first use: a child that never runs a COPY from S3 does not pay for the SDK.
  const sdk = await import("@aws-sdk/client-s3");
  const { s3ClientConfig } = await import("../../src/io/staging/s3.js");
  const credentials =
    env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY
      ? { credentials: { accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: env.AWS_SECRET_ACCESS_KEY } }
      : {};
  return { client: new sdk.S3Client({ ...s3ClientConfig(env), ...credentials }) as unknown as S3, sdk };
}

function splitS3(url: string): { bucket: string; key: string } {
  const match = /^s3:\/\/([^/]+)\/(.*)$/.exec(url);
  if (!match)
    throw redshiftError(`Invalid S3 URL ${url}: the full path of an object is needed (8001)`, "XX000");
  return { bucket: match[1]!, key: match[2]! };
}

async function readText(s3: S3, sdk: typeof import("@aws-sdk/client-s3"), bucket: string, key: string) {
  const object = await s3.send(new sdk.GetObjectCommand({ Bucket: bucket, Key: key }));
  const chunks: Buffer[] = [];
  for await (const chunk of object.Body as Readable) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

const isMissing = (error: unknown) => {
  const e = error as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e.name === "NoSuchKey" || e.name === "NotFound" || e.$metadata?.httpStatusCode === 404;
};

/** The objects COPY reads: the manifest's entries, or every object under the prefix. */
async function stagedFiles(copy: CopyFromS3, s3: S3, sdk: typeof import("@aws-sdk/client-s3")) {
  const at = (url: string) => ({ url, ...splitS3(url), firstRecord: 0, records: 0 });
  if (!copy.manifest) {
    const { bucket, key: prefix } = splitS3(copy.uri);
    const files: StagedFile[] = [];
    let token: string | undefined;
    do {
      const page = await s3.send(
        new sdk.ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
      );
      for (const item of page.Contents ?? []) if (item.Key) files.push(at(`s3://${bucket}/${item.Key}`));
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    if (files.length === 0)
      throw redshiftError(`The specified S3 prefix '${prefix}' does not exist`, "XX000");
    return files;
  }
  const { bucket, key } = splitS3(copy.uri);
  let manifest: { entries?: { url?: unknown; mandatory?: unknown }[] };
  try {
    manifest = JSON.parse(await readText(s3, sdk, bucket, key)) as typeof manifest;
  } catch (error) {
    throw redshiftError(
      isMissing(error)
        ? `Problem reading manifest file - S3ServiceException:The specified key does not exist.,Status 404 (${copy.uri})`
        : `Manifest file is not in correct json format (${copy.uri}): ${(error as Error).message}`,
      "XX000",
    );
  }
  if (!Array.isArray(manifest.entries)) {
    throw redshiftError(
      `Manifest file is not in correct json format: no "entries" array (${copy.uri})`,
      "XX000",
    );
  }
  // "Regardless of any mandatory settings, COPY will terminate if no files are found."
  if (manifest.entries.length === 0) {
    throw redshiftError(`COPY found no files to load: the manifest ${copy.uri} has no entries`, "XX000");
  }
  const files: StagedFile[] = [];
  for (const entry of manifest.entries) {
    if (typeof entry.url !== "string") {
      throw redshiftError(
        `Manifest file is not in correct json format: an entry has no url (${copy.uri})`,
        "XX000",
      );
    }
    const file = at(entry.url);
    try {
      await s3.send(new sdk.HeadObjectCommand({ Bucket: file.bucket, Key: file.key }));
      files.push(file);
    } catch (error) {
      if (!isMissing(error)) throw error;
      if (entry.mandatory === true) {
        throw redshiftError(
          `Manifest file entry '${entry.url}' is mandatory and was not found (1212)`,
          "XX000",
        );
      }
    }
  }
  if (files.length === 0) {
    throw redshiftError(
      `COPY found no files to load: none of the manifest's entries exist (${copy.uri})`,
      "XX000",
    );
  }
  return files;
}

const asResult = (result: pg.QueryResult): ResultLike => ({
  command: result.command,
  rowCount: result.rowCount,
  oid: result.oid,
  rows: result.rows,
  fields: result.fields,
});

async function copyFromS3(context: TranslationContext, text: string): Promise<ResultLike> {
  let copy: CopyFromS3;
  try {
    copy = parseCopyFromS3(text)!;
  } catch (error) {
    throw redshiftError((error as Error).message, "42601");
  }
  const { client: s3, sdk } = await s3Client(context.env);
  try {
    const files = await stagedFiles(copy, s3, sdk);
    const { rows: columns } = await context.query(
      `SELECT a.attname, t.typname, a.atttypmod FROM pg_catalog.pg_attribute a
         JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
        WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`,
      [copy.table],
    );
    const {
      rows: [session],
    } = await context.query(
      "SELECT $1::regclass::oid::integer AS tbl, pg_backend_pid() AS pid, current_setting('TimeZone') AS tz",
      [copy.table],
    );
    // The load begins: from here on pg_last_copy_id() names this COPY.
    const {
      rows: [started],
    } = await context.query(`SELECT ${SUPPORT_SCHEMA}.copy_started() AS id`);
    const queryId = Number(started.id);
    const startTime = new Date().toISOString().replace("T", " ").replace("Z", "");
    const names = copy.columns ?? columns.map((column: TargetColumn) => column.attname);
    // TIMEFORMAT 'auto' reads a timestamptz without an offset as UTC, whatever the session's zone.
    await context.query("SET TimeZone = 'UTC'");
    let rows: number;
    try {
      rows = await streamInto(context, copy, names, files, s3, sdk);
    } catch (error) {
      await context.query("SELECT set_config('TimeZone', $1, false)", [session.tz]).catch(() => undefined);
      throw await loadFailure(context, error, {
        copy,
        files,
        names,
        columns,
        queryId,
        startTime,
        tbl: Number(session.tbl),
        pid: Number(session.pid),
        s3,
        sdk,
      });
    }
    await context.query("SELECT set_config('TimeZone', $1, false)", [session.tz]);
    await context.query("SELECT set_config('rdw_standin.last_copy_count', $1, false)", [String(rows)]);
    context.client.emit("notice", {
      name: "notice",
      severity: "INFO",
      message: `Load into table '${unqualified(copy.table)}' completed, ${rows} record(s) loaded successfully.`,
    });
    return { command: "COPY", rowCount: rows, oid: null, rows: [], fields: [] };
  } finally {
    s3.destroy();
  }
}

/** One COPY FROM STDIN over every file, counting each file's records to map line numbers back. */
async function streamInto(
  context: TranslationContext,
  copy: CopyFromS3,
  names: readonly string[],
  files: StagedFile[],
  s3: S3,
  sdk: typeof import("@aws-sdk/client-s3"),
): Promise<number> {
  const sql =
    `COPY ${copy.table} (${names.join(", ")}) FROM STDIN ` +
    `WITH (FORMAT csv, NULL E'${copy.nullAs.replace(/\\/g, "\\\\").replace(/'/g, "''")}')`;
  const stream = context.submit(copyFrom(sql));
  const pause = context.env[PAUSE_ENV] === "copy";
  let total = 0;
  async function* feed(): AsyncGenerator<Buffer> {
    let sent = false;
    for (const file of files) {
      file.firstRecord = total;
      const object = await s3.send(new sdk.GetObjectCommand({ Bucket: file.bucket, Key: file.key }));
      let quoted = false;
      let last = 0x0a;
      for await (const chunk of object.Body as Readable) {
        const bytes = chunk as Buffer;
        for (const byte of bytes) {
          if (byte === 0x22) quoted = !quoted;
          else if (byte === 0x0a && !quoted) file.records++;
        }
        if (bytes.length > 0) last = bytes[bytes.length - 1]!;
        yield bytes;
        if (pause && !sent) {
          sent = true;
          process.stderr.write(`${PAUSE_MESSAGE} FROM '${copy.uri}'\n`);
          await new Promise<void>(() => setInterval(() => undefined, 60_000));
        }
      }
      if (last !== 0x0a) {
        file.records++;
        yield Buffer.from("\n");
      }
      total += file.records;
    }
  }
  await pipeline(Readable.from(feed()), stream);
  return stream.rowCount;
}

/** Redshift's load error codes for what PostgreSQL's COPY refused. */
function loadErrorCode(
  error: pg.DatabaseError,
  type: string | undefined,
  field: string | undefined,
): { code: number; reason: string; position: number } {
  const integerType: Record<string, string> = { int2: "Short", int4: "Integer", int8: "Long" };
  if (error.code === "23502") return { code: 1213, reason: "Missing data for not-null field", position: 0 };
  if (error.code === "22P04") {
    return /extra data/.test(error.message)
      ? { code: 1202, reason: "Extra column(s) found", position: 0 }
      : { code: 1214, reason: "Delimiter not found", position: 0 };
  }
  if (type === "timestamptz" || type === "timestamp") {
    return { code: 1206, reason: "Invalid timestamp format or value [YYYY-MM-DD HH24:MI:SS]", position: 0 };
  }
  if (type === "date")
    return { code: 1205, reason: "Invalid Date Format - length must be 10 or more", position: 0 };
  if (error.code === "22003") {
    return { code: 1204, reason: "Input data exceeded the acceptable range for the data type", position: 0 };
  }
  if (type && integerType[type] && field !== undefined) {
    const position = Math.max(0, field.replace(/^[+-]/, "").search(/[^0-9]/));
    const bad = field.replace(/^[+-]/, "").charAt(position);
    return {
      code: 1207,
      reason: `Invalid digit, Value '${bad}', Pos ${position}, Type: ${integerType[type]}`,
      position,
    };
  }
  if (type === "float4" || type === "float8")
    return { code: 1208, reason: "Invalid float format", position: 0 };
  if (type === "numeric") return { code: 1209, reason: "Invalid decimal format", position: 0 };
  if (type === "bool") return { code: 1210, reason: "Invalid boolean format", position: 0 };
  return { code: 1200, reason: `Unknown parse error: ${error.message}`, position: 0 };
}

/** Writes the load error (when a row was refused) and gives the error Redshift would. */
async function loadFailure(
  context: TranslationContext,
  error: unknown,
  load: {
    copy: CopyFromS3;
    files: StagedFile[];
    names: readonly string[];
    columns: TargetColumn[];
    queryId: number;
    startTime: string;
    tbl: number;
    pid: number;
    s3: S3;
    sdk: typeof import("@aws-sdk/client-s3");
  },
): Promise<Error> {
  const pgError = error as pg.DatabaseError;
  const where = /^COPY [^,]+, line (\d+)(?:, column ([^:]+))?/.exec(pgError.where ?? "");
  const rowError = pgError instanceof pg.DatabaseError && where && /^2[23]/.test(pgError.code ?? "");
  if (!rowError) return error as Error; // not a bad row: PostgreSQL's error as it is
  const line = Number(where[1]);
  const column = where[2] ?? pgError.column ?? /column "([^"]+)"/.exec(pgError.message)?.[1] ?? "";
  const file =
    load.files.find((f) => line > f.firstRecord && line <= f.firstRecord + f.records) ?? load.files.at(-1)!;
  const lineInFile = line - file.firstRecord;
  const rawLine = csvRecords(await readText(load.s3, load.sdk, file.bucket, file.key))[lineInFile - 1] ?? "";
  const field = column ? csvFields(rawLine)[load.names.indexOf(column)] : undefined;
  const target = load.columns.find((c) => c.attname === column);
  const { code, reason, position } = loadErrorCode(pgError, target?.typname, field);
  const length =
    target && target.atttypmod > 4 && /char/.test(target.typname) ? String(target.atttypmod - 4) : "0";
  await recordLoadError(context, {
    variant: context.variant,
    tbl: load.tbl,
    starttime: load.startTime,
    session: load.pid,
    query: load.queryId,
    filename: file.url,
    line_number: lineInFile,
    colname: column,
    type: target?.typname ?? "",
    col_length: length,
    position,
    raw_line: rawLine,
    raw_field_value: field ?? "",
    err_code: code,
    err_reason: reason,
  });
  const view = context.variant === "serverless" ? "sys_load_error_detail" : "stl_load_errors";
  return redshiftError(
    `Load into table '${unqualified(load.copy.table)}' failed.  Check '${view}' system table for details.`,
    "XX000",
    [
      "-----------------------------------------------",
      `  error:  ${reason}`,
      `  code:      ${code}`,
      `  context:   ${field ?? rawLine.slice(0, 200)}`,
      `  query:     ${load.queryId}`,
      `  location:  redshift stand-in (PostgreSQL: ${pgError.message})`,
      `  process:   backend ${load.pid}`,
      "  -----------------------------------------------",
    ].join("\n"),
  );
}

/** From a separate connection of the same login: committed whatever the COPY's transaction does. */
async function recordLoadError(context: TranslationContext, row: Record<string, unknown>): Promise<void> {
  const parameters = (context.client as unknown as { connectionParameters: pg.ClientConfig })
    .connectionParameters;
  const logger = new pg.Client({
    host: parameters.host,
    port: parameters.port,
    user: parameters.user,
    password: parameters.password,
    database: parameters.database,
    application_name: "rdw-redshift-stand-in",
  });
  await logger.connect();
  try {
    await logger.query(`SELECT ${SUPPORT_SCHEMA}.record_load_error($1::jsonb)`, [JSON.stringify(row)]);
  } finally {
    await logger.end();
  }
}

/** Records of a CSV text: newlines inside quotes do not end one. */
function csvRecords(text: string): string[] {
  const records: string[] = [];
  let quoted = false;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '"') quoted = !quoted;
    else if (text[i] === "\n" && !quoted) {
      records.push(text.slice(start, i).replace(/\r$/, ""));
      start = i + 1;
    }
  }
  if (start < text.length) records.push(text.slice(start));
  return records;
}

/** Fields of one CSV record, unquoted. */
function csvFields(record: string): string[] {
  const fields: string[] = [];
  let field = "";
  let quoted = false;
  for (let i = 0; i < record.length; i++) {
    const ch = record[i]!;
    if (quoted) {
      if (ch === '"' && record[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ",") {
      fields.push(field);
      field = "";
    } else field += ch;
  }
  fields.push(field);
  return fields;
}

function redshiftError(message: string, code: string, detail?: string): pg.DatabaseError {
  const error = new pg.DatabaseError(message, message.length, "error");
  error.severity = "ERROR";
  error.code = code;
  if (detail) error.detail = detail;
  return error;
}

const unqualified = (table: string) => table.split(".").at(-1)!.replace(/"/g, "");
const literal = (text: string) => `'${text.replace(/'/g, "''")}'`;
const ident = (name: string) => `"${name.replace(/"/g, '""')}"`;
