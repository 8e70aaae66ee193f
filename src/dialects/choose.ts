import { AURORA_2, AURORA_3, type AuroraDialect } from "./aurora.js";
import { MYSQL, type MysqlDialect } from "./mysql.js";
import { POSTGRES, type PostgresDialect } from "./postgres.js";
import { REDSHIFT } from "./redshift.js";

/**
 * The one place where engines are told apart by name: from what the servers say about
 * themselves, or from a mode the operator forced. Everything else reads the chosen dialect's
 * capabilities or calls it.
 */

/** How rows leave the warehouse: streamed through this process, or written to S3 by Aurora itself. */
export type ExtractMode = "stream" | "aurora";
/** How rows enter the OLAP staging table: `COPY … FROM STDIN`, or Redshift's `COPY … FROM 's3://…'`. */
export type LoadMode = "postgres" | "redshift";

export type ModeRequest<T extends string> = T | "auto";

export type WarehouseDialectName = "mysql" | "aurora2" | "aurora3";
export type OlapDialectName = "postgres" | "redshift";

/** A chosen mode and the reason, as the plan shows it. */
export interface ModeChoice<T extends string, D extends string> {
  mode: T;
  reason: string;
  /** The dialect whose statements the plan uses. */
  dialect: D;
  /** The server does the work itself (Aurora writes to S3, Redshift reads from S3). */
  serverSide: boolean;
}

export interface ServerFacts {
  /** `@@aurora_version`, when the warehouse is Aurora MySQL. */
  auroraVersion: string | undefined;
  /** The warehouse's `version()`. */
  warehouseVersion: string;
  /** The OLAP server's `version()`. */
  olapVersion: string;
}

const WAREHOUSE_DIALECTS = {
  mysql: MYSQL,
  aurora2: AURORA_2,
  aurora3: AURORA_3,
} as const satisfies Record<WarehouseDialectName, MysqlDialect>;
const OLAP_DIALECTS: Record<OlapDialectName, PostgresDialect> = { postgres: POSTGRES, redshift: REDSHIFT };

export const warehouseDialect = (name: WarehouseDialectName): MysqlDialect => WAREHOUSE_DIALECTS[name];
export const auroraDialect = (name: "aurora2" | "aurora3"): AuroraDialect => WAREHOUSE_DIALECTS[name];
export const olapDialect = (name: OlapDialectName): PostgresDialect => OLAP_DIALECTS[name];

export const isRedshift = (version: string) => /redshift/i.test(version);

/**
 * `@@aurora_version` is `2.x` on Aurora MySQL 2 (MySQL 5.7) and `3.x` on 3 (MySQL 8.0)
 * ("Database engine updates for Amazon Aurora MySQL"); a forced mode on another server gets 3.
 */
export function auroraDialectName(auroraVersion: string | undefined): "aurora2" | "aurora3" {
  return auroraVersion?.trim().startsWith("2.") ? "aurora2" : "aurora3";
}

/**
 * Aurora writes to S3 itself when it can; a forced `--extract aurora` uses Aurora's statements
 * whatever the server is (the preflight then says why it would fail).
 */
export function chooseExtract(
  request: ModeRequest<ExtractMode>,
  facts: ServerFacts,
): ModeChoice<ExtractMode, WarehouseDialectName> {
  const dialect: WarehouseDialectName =
    facts.auroraVersion || request === "aurora" ? auroraDialectName(facts.auroraVersion) : "mysql";
  const serverSide = WAREHOUSE_DIALECTS[dialect].capabilities.extractsToS3;
  if (request !== "auto")
    return { mode: request, reason: `--extract ${request}`, dialect, serverSide: request === "aurora" };
  return serverSide
    ? { mode: "aurora", reason: `auto: @@aurora_version = ${facts.auroraVersion}`, dialect, serverSide }
    : { mode: "stream", reason: `auto: not Aurora (${facts.warehouseVersion})`, dialect, serverSide };
}

/** The load mode names the OLAP dialect: a forced one is used whatever the server says it is. */
export function chooseLoad(
  request: ModeRequest<LoadMode>,
  facts: ServerFacts,
): ModeChoice<LoadMode, OlapDialectName> {
  const choice = (mode: LoadMode, reason: string) => ({
    mode,
    reason,
    dialect: mode,
    serverSide: OLAP_DIALECTS[mode].capabilities.copiesFrom === "s3",
  });
  if (request !== "auto") return choice(request, `--load ${request}`);
  return isRedshift(facts.olapVersion)
    ? choice("redshift", "auto: version() names Redshift")
    : choice("postgres", `auto: not Redshift (${facts.olapVersion.split(" on ")[0]})`);
}

/** The dialect of a server that has told its `version()`. */
export const detectOlapDialect = (version: string): PostgresDialect =>
  olapDialect(isRedshift(version) ? "redshift" : "postgres");

/** Why a server-side mode cannot work with these servers and this staging, whatever the privileges. */
export function serverSideProblems(
  extract: ModeChoice<ExtractMode, WarehouseDialectName>,
  load: ModeChoice<LoadMode, OlapDialectName>,
  servers: ServerFacts,
  stagingUri: string,
): string[] {
  const problems: string[] = [];
  const onS3 = stagingUri.startsWith("s3://");
  if (extract.serverSide) {
    if (!onS3) problems.push(`Aurora writes only to S3; staging is ${stagingUri}`);
    if (!servers.auroraVersion) {
      problems.push(
        `warehouse is not Aurora MySQL (version ${servers.warehouseVersion}): INTO OUTFILE S3 will fail`,
      );
    }
  }
  if (load.serverSide) {
    if (!isRedshift(servers.olapVersion)) {
      problems.push(
        `OLAP server is not Redshift (${servers.olapVersion.split(" on ")[0]}): COPY … FROM S3 will fail`,
      );
    }
    if (!onS3) problems.push(`Redshift COPY reads only from S3; staging is ${stagingUri}`);
  }
  return problems;
}
