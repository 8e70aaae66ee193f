import { ConfigError } from "../core/errors.js";
import { IAM_ROLE } from "../core/literals.js";
import { PLAIN_IDENTIFIER, requirePlainIdentifier } from "../core/identifiers.js";
import { relativePathProblem, stagingUriProblem } from "../core/paths.js";
import { CipherKeys } from "./cipher.js";
import { ConfigRepository, loadConfigRepository } from "./repository.js";
import { PropertySet } from "./properties.js";
import { parseSince } from "./since.js";

/** Where and as whom to connect. `origin` says which properties it came from, for plans and errors. */
export interface DatabaseLogin {
  host: string;
  port: number;
  database: string;
  user: string;
  password: string;
  origin: string;
}

export interface TenantConfig {
  id: string;
  name: string;
  sandbox: boolean;
  /** `archive.tenants.<ID>.path-prefix`, empty when the tenant has none; relative, without `..`, `.` or empty segments. */
  pathPrefix: string;
  warehouse: DatabaseLogin;
  /**
   * Where verify reads the warehouse: `backfill.warehouse-reader.url-server` (an Aurora reader
   * endpoint, host:port) with the warehouse login's user and database; else the warehouse itself.
   */
  warehouseReader: DatabaseLogin;
  olap: DatabaseLogin;
  /** The tenant's own OLAP login, whose search_path names the tenant schema. */
  olapTenantLogin: DatabaseLogin | undefined;
  /** `backfill.tenants.<ID>.olap-schema`, when set. */
  olapSchemaOverride: string | undefined;
  /** `backfill.tenants.<ID>.alt-subject-score-ids` (or `backfill.alt-subject-score-ids`), when set. */
  altScoreIdsOverride: number[] | undefined;
}

export interface BackfillConfig {
  configDir: string;
  /** `archive.uri-root`, without a trailing slash; its path has no `..`, `.` or empty segment. */
  uriRoot: string;
  /** `migrate.aws.redshift.role`, when configured. */
  redshiftRole: string | undefined;
  /** `backfill.redshift.authorization`: `IAM_ROLE 'arn'` (default) or `CREDENTIALS 'aws_iam_role=arn'`. */
  redshiftAuthorization: "iam-role" | "credentials";
  /** Start of the back-fill window, UTC, as `YYYY-MM-DD HH:MM:SS.ffffff`. */
  since: string;
  tenants: TenantConfig[];
}

export interface ConfigOptions {
  configDir: string;
  tenants?: readonly string[];
  overrides?: readonly string[];
  since?: string;
  env?: NodeJS.ProcessEnv;
  /** `--encrypt-key-file`: the key of `{cipher}` values, instead of `encrypt.key` / `ENCRYPT_KEY`. */
  encryptKeyFile?: string | undefined;
  /** `--encrypt-key-dir`: the config server's key store as `<alias>.pem` files (RSA private keys). */
  encryptKeyDir?: string | undefined;
}

export const DEFAULT_SINCE = "2019-11-01 00:00:00";

// Staging locations and the role end up inside SQL string literals (INTO OUTFILE S3, COPY FROM),
// so only characters that need no quoting are accepted.
const STAGING_ROOT = /^(s3:\/\/[a-z0-9][a-z0-9.-]*[a-z0-9]|file:\/\/)(\/[A-Za-z0-9._\-/]*)?$/;
const PATH_PREFIX = /^[A-Za-z0-9._\-/]*$/;
const IDENTIFIER = "a plain identifier (letters, digits, _)";

export function resolveConfig(options: ConfigOptions): BackfillConfig {
  const since = parseSince(options.since ?? DEFAULT_SINCE);
  const repository = loadConfigRepository(options.configDir, options.overrides ?? [], options.env);
  const ids = selectTenants(repository, options.tenants ?? []);
  const keys = new CipherKeys(repository.properties, {
    keyFile: options.encryptKeyFile,
    keyDir: options.encryptKeyDir,
  });
  repository.properties.decryptWith((property) => keys.decrypt(property));
  const settings = new Settings(repository.properties);
  return {
    configDir: repository.dir,
    uriRoot: settings.plainPath(
      "archive.uri-root",
      settings.matching("archive.uri-root", STAGING_ROOT, "s3://bucket[/path] or file:///path"),
      stagingUriProblem,
    ),
    redshiftRole: settings.optionalMatching("migrate.aws.redshift.role", IAM_ROLE, "an IAM role ARN"),
    redshiftAuthorization:
      (settings.optionalMatching(
        "backfill.redshift.authorization",
        /^(iam-role|credentials)$/,
        "iam-role or credentials",
      ) as "iam-role" | "credentials" | undefined) ?? "iam-role",
    since,
    tenants: ids.map((id) => resolveTenant(id, settings)),
  };
}

function selectTenants(repository: ConfigRepository, requested: readonly string[]): string[] {
  const known = [...repository.tenantFiles.keys()].sort();
  for (const id of known) requirePlainIdentifier(id, `tenant id in ${repository.tenantFiles.get(id)}`);
  if (requested.length === 0) return known;
  for (const id of requested) {
    if (!known.includes(id)) {
      throw new ConfigError(
        `unknown tenant ${JSON.stringify(id)} (known in ${repository.dir}: ${known.join(", ")})`,
      );
    }
  }
  return known.filter((id) => requested.includes(id));
}

function resolveTenant(id: string, settings: Settings): TenantConfig {
  const tenant = `tenantProperties.tenants.${id}`;
  const warehouseTenant = `datasources.warehouse_rw.tenants.${id}`;
  const olapTenant = `datasources.olap_rw.tenants.${id}`;
  const warehouseDatabase = settings.matching(
    `${warehouseTenant}.url-parts.database`,
    PLAIN_IDENTIFIER,
    IDENTIFIER,
  );
  const olapTenantLogin = settings.optional(`${olapTenant}.username`)
    ? settings.login({
        server: settings.firstSet(`${olapTenant}.url-server`, "datasources.olap_rw.url-server"),
        database: settings.required(settings.firstSet(`${olapTenant}.url-db`, "datasources.olap_rw.url-db")),
        user: `${olapTenant}.username`,
        password: `${olapTenant}.password`,
        defaultPort: 5432,
      })
    : undefined;
  const warehouse = settings.optional("spring.admin_warehouse_datasource.username")
    ? settings.login({
        server: "spring.admin_warehouse_datasource.url-server",
        database: warehouseDatabase,
        user: "spring.admin_warehouse_datasource.username",
        password: "spring.admin_warehouse_datasource.password",
        defaultPort: 3306,
      })
    : settings.login({
        server: settings.firstSet(`${warehouseTenant}.url-server`, "datasources.warehouse_rw.url-server"),
        database: warehouseDatabase,
        user: `${warehouseTenant}.username`,
        password: `${warehouseTenant}.password`,
        defaultPort: 3306,
      });
  const readerServer = "backfill.warehouse-reader.url-server";
  const warehouseReader = settings.optional(readerServer)
    ? {
        ...warehouse,
        ...settings.server(readerServer, 3306),
        origin: `${warehouse.origin}, at ${readerServer}`,
      }
    : warehouse;
  const olap = settings.optional("spring.admin_olap_datasource.username")
    ? settings.login({
        server: "spring.admin_olap_datasource.url-server",
        database: settings.required("spring.admin_olap_datasource.url-db"),
        user: "spring.admin_olap_datasource.username",
        password: "spring.admin_olap_datasource.password",
        defaultPort: 5432,
      })
    : olapTenantLogin;
  if (!olap) {
    throw new ConfigError(
      `tenant ${id}: no OLAP login: set ${olapTenant}.username or spring.admin_olap_datasource.username`,
    );
  }
  const schema = settings.optionalMatching(
    `backfill.tenants.${id}.olap-schema`,
    PLAIN_IDENTIFIER,
    IDENTIFIER,
  );
  return {
    id,
    name: settings.optional(`${tenant}.name`) ?? id,
    sandbox: settings.optional(`${tenant}.sandbox`) === "true",
    pathPrefix: settings.plainPath(
      `archive.tenants.${id}.path-prefix`,
      settings.optionalMatching(
        `archive.tenants.${id}.path-prefix`,
        PATH_PREFIX,
        "letters, digits, . _ - /",
      ) ?? "",
      relativePathProblem,
    ),
    warehouse,
    warehouseReader,
    olap,
    olapTenantLogin,
    olapSchemaOverride: schema?.toLowerCase(),
    altScoreIdsOverride: settings.idList(
      settings.firstSet(`backfill.tenants.${id}.alt-subject-score-ids`, "backfill.alt-subject-score-ids"),
    ),
  };
}

/**
 * Typed reads of the merged properties, with errors that name the property and its file and
 * never show a value that was encrypted.
 */
class Settings {
  constructor(private readonly properties: PropertySet) {}

  optional(key: string): string | undefined {
    const value = this.properties.get(key);
    return value === undefined || value === "" ? undefined : value;
  }

  required(key: string): string {
    const value = this.optional(key);
    if (value === undefined) throw new ConfigError(`missing property ${key}`);
    return value;
  }

  optionalMatching(key: string, pattern: RegExp, expected: string): string | undefined {
    const value = this.optional(key);
    if (value !== undefined && !pattern.test(value)) {
      throw new ConfigError(
        `${this.properties.sourceOf(key)}: ${key} ${this.shown(key, value)} is not ${expected}`,
      );
    }
    return value;
  }

  /**
   * A path inside the archive, without the one trailing `/` it may have been written with: refused
   * when it could leave its root or be read two ways (`..`, `.`, `//`, a leading `/` in a prefix).
   */
  plainPath(key: string, value: string, problemOf: (path: string) => string | undefined): string {
    const path = value.replace(/\/$/, "");
    const problem = problemOf(path) ?? (path.endsWith("/") ? "has an empty segment (//)" : undefined);
    if (problem === undefined) return path;
    throw new ConfigError(
      `${this.properties.sourceOf(key)}: ${key} ${this.shown(key, value)} ${problem}; paths in the archive must be plain (no "..", "." or "//", and a path prefix is relative: no leading "/")`,
    );
  }

  /** The value for a message: quoted, or `(encrypted)` when it was a `{cipher}` value. */
  private shown(key: string, value: string): string {
    return this.properties.isEncrypted(key) ? "(encrypted)" : JSON.stringify(value);
  }

  matching(key: string, pattern: RegExp, expected: string): string {
    const value = this.optionalMatching(key, pattern, expected);
    if (value === undefined) throw new ConfigError(`missing property ${key}`);
    return value;
  }

  /** The first of several keys that is set (falls back to the last, for its error message). */
  firstSet(...keys: string[]): string {
    return keys.find((key) => this.optional(key) !== undefined) ?? keys[keys.length - 1]!;
  }

  /** `server`, `user` and `password` are property keys; `database` is the resolved name. */
  login(keys: {
    server: string;
    database: string;
    user: string;
    password: string;
    defaultPort: number;
  }): DatabaseLogin {
    return {
      ...this.server(keys.server, keys.defaultPort),
      database: keys.database,
      user: this.required(keys.user),
      password: this.optional(keys.password) ?? "",
      origin: `${keys.user.replace(/\.username$/, "")} (${this.properties.sourceOf(keys.user)})`,
    };
  }

  /** A `host[:port]` property. */
  server(key: string, defaultPort: number): { host: string; port: number } {
    const match = /^([^:/\s]+)(?::(\d{1,5}))?$/.exec(this.required(key));
    if (!match) throw new ConfigError(`${this.properties.sourceOf(key)}: ${key} must be host:port`);
    return { host: match[1]!, port: match[2] ? Number(match[2]) : defaultPort };
  }

  idList(key: string): number[] | undefined {
    const value = this.optional(key);
    if (value === undefined) return undefined;
    const ids = value.split(",").map((part) => part.trim());
    if (ids.some((id) => !/^\d+$/.test(id))) {
      throw new ConfigError(`${this.properties.sourceOf(key)}: ${key} must be a comma-separated list of ids`);
    }
    return ids.map(Number);
  }
}
