import { ConfigError, describeError } from "../core/errors.js";
import { PLAIN_IDENTIFIER } from "../core/identifiers.js";
import { stagingUriProblem } from "../core/paths.js";

const STATUSES = ["running", "succeeded", "failed", "interrupted", "stopped"];
const STATES = ["pending", "backed-up", "extracted", "merged", "verified"];

type Check = (value: unknown) => boolean;
const isString: Check = (value) => typeof value === "string";
const isObject: Check = (value) => typeof value === "object" && value !== null && !Array.isArray(value);
const isStrings: Check = (value) => Array.isArray(value) && value.every(isString);
const isCount: Check = (value) => Number.isInteger(value) && (value as number) >= 0;
const oneOf =
  (values: readonly string[]): Check =>
  (value) =>
    typeof value === "string" && values.includes(value);
const identifier: Check = (value) => typeof value === "string" && PLAIN_IDENTIFIER.test(value);

/** The shape of a journal's fields: what each must be, and whether it may be absent. */
class Shape {
  constructor(private readonly where: string) {}

  /** `value` is the field at `path`, which the message names. */
  field(value: unknown, path: string, check: Check, expected: string, optional = false): void {
    if (value === undefined && optional) return;
    if (!check(value)) throw new ConfigError(`${this.where}: invalid journal: ${path} must be ${expected}`);
  }
}

/**
 * A journal file's text, parsed and checked (the caller types it as `JournalData`), or one line naming the file and the field that is wrong.
 * What the commands build SQL or staging paths from is checked strictly: the run id, schemas,
 * backup tables and staging folders (which `cleanup` empties); the recorded migrate-olap commands
 * and everything only shown are checked for their type. Journals of earlier versions (without step results) pass.
 */
export function parseJournal(text: string, file: string, runId: string): unknown {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`${file}: invalid journal (not JSON: ${describeError(error)})`);
  }
  const shape = new Shape(file);
  if (!isObject(data)) throw new ConfigError(`${file}: invalid journal: not a JSON object`);
  const journal = data as Record<string, unknown>;
  shape.field(journal.runId, "runId", (value) => value === runId, `the run id of its folder, ${runId}`);
  shape.field(journal.status, "status", oneOf(STATUSES), STATUSES.join(", "));
  for (const key of ["createdAt", "updatedAt", "host"])
    shape.field(journal[key], key, isString, "text", true);
  shape.field(journal.pid, "pid", isCount, "a process id", true);
  shape.field(journal.stagingCopy, "stagingCopy", stagingFolderOf(runId), STAGING_FOLDER, true);
  shape.field(journal.command, "command", isObject, "an object");
  const command = journal.command as Record<string, unknown>;
  shape.field(command.configDir, "command.configDir", isString, "text");
  shape.field(command.tenants, "command.tenants", isStrings, "a list of tenant ids");
  shape.field(command.overrides, "command.overrides", isStrings, "a list of property=value");
  shape.field(command.since, "command.since", isString, "text");
  shape.field(command.backup, "command.backup", (value) => typeof value === "boolean", "true or false");
  if (journal.migrate !== undefined) checkMigrate(shape, journal.migrate);
  shape.field(journal.tenants, "tenants", isObject, "an object");
  for (const [id, tenant] of Object.entries(journal.tenants as Record<string, unknown>)) {
    if (!PLAIN_IDENTIFIER.test(id))
      throw new ConfigError(`${file}: invalid journal: tenant id ${JSON.stringify(id)} is not plain`);
    checkTenant(shape, `tenants.${id}`, tenant, runId);
  }
  return data;
}

function checkTenant(shape: Shape, at: string, tenant: unknown, runId: string): void {
  shape.field(tenant, at, isObject, "an object");
  const entry = tenant as Record<string, unknown>;
  shape.field(entry.state, `${at}.state`, oneOf(STATES), STATES.join(", "));
  shape.field(entry.stagingUri, `${at}.stagingUri`, stagingFolderOf(runId), STAGING_FOLDER);
  shape.field(entry.olapSchema, `${at}.olapSchema`, identifier, "a plain identifier");
  shape.field(entry.backupTable, `${at}.backupTable`, identifier, "a plain identifier", true);
  shape.field(
    entry.olapDialect,
    `${at}.olapDialect`,
    oneOf(["postgres", "redshift"]),
    "postgres or redshift",
    true,
  );
  shape.field(entry.results, `${at}.results`, isObject, "an object", true);
  shape.field(entry.attempts, `${at}.attempts`, isCount, "a count", true);
  shape.field(entry.retries, `${at}.retries`, Array.isArray, "a list", true);
  shape.field(entry.steps, `${at}.steps`, Array.isArray, "a list", true);
}

function checkMigrate(shape: Shape, migrate: unknown): void {
  shape.field(migrate, "migrate", isObject, "an object");
  const record = migrate as Record<string, unknown>;
  shape.field(
    record.replicas,
    "migrate.replicas",
    (value) => value === null || isCount(value),
    "a count or null",
  );
  shape.field(record.controller, "migrate.controller", isObject, "an object");
  const controller = record.controller as Record<string, unknown>;
  if (controller.kind === "custom") {
    shape.field(controller.quiesce, "migrate.controller.quiesce", isString, "a command");
    shape.field(controller.restore, "migrate.controller.restore", isString, "a command");
  } else {
    shape.field(controller.kind, "migrate.controller.kind", oneOf(["kubectl"]), "kubectl or custom");
    shape.field(controller.deployment, "migrate.controller.deployment", isString, "a deployment name");
    for (const key of ["namespace", "context"])
      shape.field(controller[key], `migrate.controller.${key}`, isString, "text", true);
  }
}

const STAGING_FOLDER =
  'a staging folder of this run (s3://… or file://…, a segment named after the run, ending with /, no "..", "." or "//")';

/** A staging folder URI (ending with `/`) with a `<run id>` segment, whose path is plain. */
const stagingFolderOf =
  (runId: string): Check =>
  (value) =>
    typeof value === "string" &&
    value.endsWith("/") &&
    value.split("/").includes(runId) &&
    stagingUriProblem(value) === undefined;
