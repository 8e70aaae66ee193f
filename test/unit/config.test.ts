import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { resolveConfig } from "../../src/config/settings.js";
import { parseSince } from "../../src/config/since.js";
import { ConfigError } from "../../src/core/errors.js";
import { stagingUris } from "../../src/plan/staging-location.js";

let root: string;

async function repository(name: string, files: Record<string, string>): Promise<string> {
  const dir = join(root, name);
  for (const [path, content] of Object.entries(files)) {
    await mkdir(join(dir, path, ".."), { recursive: true });
    await writeFile(join(dir, path), content);
  }
  return dir;
}

const APPLICATION = `
archive:
  uri-root: s3://\${ARCHIVE_BUCKET:rdw-qa-archive}
datasources:
  warehouse_rw:
    url-server: wh.example:3307
  olap_rw:
    urlServer: redshift.example:5439
    url-db: \${olap.database-name}
olap:
  database_name: rdw
`;

const tenantFile = (id: string, prefixLine: string) => `
tenantProperties:
  tenants:
    ${id}:
      id: ${id}
      name: Tenant ${id}
      sandbox: ${id.includes("_S")}
archive:
  tenants:
    ${id}:
      ${prefixLine}
datasources:
  warehouse_rw:
    tenants:
      ${id}:
        urlParts:
          database: warehouse_${id.toLowerCase()}
        username: ${id.toLowerCase()}_wh
        password: wh-secret-${id}
  olap_rw:
    tenants:
      ${id}:
        username: ${id.toLowerCase()}_olap
        password: olap-secret-${id}
`;

const ADMIN = `
spring:
  admin_warehouse_datasource:
    url-server: \${datasources.warehouse_rw.url-server}
    username: root_wh
    password: \${WH_ADMIN_PASSWORD}
  admin_olap_datasource:
    url-server: admin-redshift.example:5439
    url-db: rdw
    username: root_olap
    password: admin-olap-secret
`;

describe("configuration", () => {
  let plain: string;
  let withAdmin: string;

  before(async () => {
    root = await mkdtemp(join(tmpdir(), "rdw-backfill-config-"));
    const common = {
      "application.yml": APPLICATION,
      "rdw-ingest-migrate-olap.yml":
        "migrate:\n  aws:\n    redshift:\n      role: arn:aws:iam::123456789012:role/rdw\n",
      "tenant-OT/application.yml": tenantFile("OT", "path-prefix: ot"),
      "tenant-PA/application.yml": tenantFile("PA", "pathPrefix: pa/"),
      "tenant-TS_S001/application.yml": tenantFile("TS_S001", "path_prefix: ts_s001"),
    };
    plain = await repository("plain", common);
    withAdmin = await repository("admin", { ...common, "rdw-reporting-admin-service.yml": ADMIN });
  });
  after(() => rm(root, { recursive: true, force: true }));

  it("discovers tenants from the tenant folders, sorted, and selects with --tenant", () => {
    assert.deepEqual(
      resolveConfig({ configDir: plain, env: {} }).tenants.map((t) => t.id),
      ["OT", "PA", "TS_S001"],
    );
    const some = resolveConfig({ configDir: plain, tenants: ["TS_S001", "OT"], env: {} });
    assert.deepEqual(
      some.tenants.map((t) => [t.id, t.sandbox]),
      [
        ["OT", false],
        ["TS_S001", true],
      ],
    );
  });

  it("refuses an unknown tenant, naming it and the known ones", () => {
    assert.throws(
      () => resolveConfig({ configDir: plain, tenants: ["XX"], env: {} }),
      (error: Error) =>
        error instanceof ConfigError && /unknown tenant "XX".*OT, PA, TS_S001/.test(error.message),
    );
  });

  it("binds kebab, camel and underscore spellings of the same property", () => {
    const config = resolveConfig({ configDir: plain, env: {} });
    assert.deepEqual(
      config.tenants.map((t) => t.pathPrefix),
      ["ot", "pa", "ts_s001"],
    );
    const ot = config.tenants[0]!;
    assert.equal(ot.warehouse.database, "warehouse_ot"); // urlParts.database
    assert.equal(ot.olap.host, "redshift.example"); // urlServer
    assert.equal(ot.olap.port, 5439);
  });

  it("verify reads the warehouse at backfill.warehouse-reader.url-server when set, with the same login", () => {
    const plainTenant = resolveConfig({ configDir: plain, env: {} }).tenants[0]!;
    assert.equal(plainTenant.warehouseReader, plainTenant.warehouse);
    const reader = resolveConfig({
      configDir: plain,
      env: {},
      overrides: ["backfill.warehouse-reader.url-server=wh-ro.example:3308"],
    }).tenants[0]!;
    assert.deepEqual(
      [
        reader.warehouseReader.host,
        reader.warehouseReader.port,
        reader.warehouseReader.user,
        reader.warehouseReader.database,
      ],
      ["wh-ro.example", 3308, reader.warehouse.user, reader.warehouse.database],
    );
    assert.equal(reader.warehouse.host, "wh.example");
    assert.throws(
      () =>
        resolveConfig({ configDir: plain, env: {}, overrides: ["backfill.warehouse-reader.url-server=a b"] }),
      /backfill\.warehouse-reader\.url-server must be host:port/,
    );
  });

  it("resolves ${key} and ${ENV:default} placeholders, environment first as Spring does", () => {
    const defaults = resolveConfig({ configDir: plain, env: {} });
    assert.equal(defaults.uriRoot, "s3://rdw-qa-archive");
    assert.equal(defaults.tenants[0]!.olap.database, "rdw"); // ${olap.database-name} -> olap.database_name
    const fromEnv = resolveConfig({
      configDir: plain,
      env: { ARCHIVE_BUCKET: "prod-archive", OLAP_DATABASENAME: "rdw_prod" },
    });
    assert.equal(fromEnv.uriRoot, "s3://prod-archive");
    assert.equal(fromEnv.tenants[0]!.olap.database, "rdw_prod");
  });

  it("lets --set override any property, in any spelling, placeholders included", () => {
    const config = resolveConfig({
      configDir: plain,
      overrides: [
        "archive.uriRoot=file:///srv/archive/",
        "archive.tenants.OT.path-prefix=ot2",
        "olap.database-name=other",
      ],
      env: {},
    });
    assert.equal(config.uriRoot, "file:///srv/archive");
    assert.equal(config.tenants[0]!.pathPrefix, "ot2");
    assert.equal(config.tenants[0]!.olap.database, "other");
  });

  it("uses the tenant's logins when no admin logins are configured", () => {
    const ot = resolveConfig({ configDir: plain, env: {} }).tenants[0]!;
    assert.deepEqual(
      [ot.warehouse.user, ot.warehouse.password, ot.warehouse.host, ot.warehouse.port],
      ["ot_wh", "wh-secret-OT", "wh.example", 3307],
    );
    assert.deepEqual([ot.olap.user, ot.olap.password], ["ot_olap", "olap-secret-OT"]);
  });

  it("prefers the admin ('root level') logins, keeping the tenant's database and OLAP login for its schema", () => {
    const ot = resolveConfig({ configDir: withAdmin, env: { WH_ADMIN_PASSWORD: "from-env" } }).tenants[0]!;
    assert.deepEqual(
      [ot.warehouse.user, ot.warehouse.password, ot.warehouse.database],
      ["root_wh", "from-env", "warehouse_ot"],
    );
    assert.deepEqual(
      [ot.olap.user, ot.olap.host, ot.olap.database],
      ["root_olap", "admin-redshift.example", "rdw"],
    );
    assert.equal(ot.olapTenantLogin?.user, "ot_olap");
    assert.match(ot.warehouse.origin, /rdw-reporting-admin-service\.yml/);
  });

  it("reports a placeholder that cannot be resolved with the property and its file", () => {
    assert.throws(
      () => resolveConfig({ configDir: withAdmin, env: {} }),
      (error: Error) =>
        error instanceof ConfigError &&
        /rdw-reporting-admin-service\.yml: property spring\.admin_warehouse_datasource\.password has unresolvable placeholder \$\{WH_ADMIN_PASSWORD\}/.test(
          error.message,
        ),
    );
  });

  it("reads the per-tenant schema and alt score overrides, and validates them", () => {
    const config = resolveConfig({
      configDir: plain,
      overrides: ["backfill.tenants.OT.olap-schema=reporting_x", "backfill.alt-subject-score-ids=19, 20"],
      env: {},
    });
    assert.equal(config.tenants[0]!.olapSchemaOverride, "reporting_x");
    assert.deepEqual(config.tenants[1]!.altScoreIdsOverride, [19, 20]);
    assert.throws(
      () =>
        resolveConfig({ configDir: plain, overrides: ['backfill.tenants.OT.olap-schema=x"; drop'], env: {} }),
      /not a plain identifier/,
    );
    assert.throws(
      () => resolveConfig({ configDir: plain, overrides: ["backfill.alt-subject-score-ids=19;20"], env: {} }),
      /comma-separated list of ids/,
    );
  });

  it("refuses encrypted {cipher} values it would have to use without a key, naming the property", () => {
    assert.throws(
      () =>
        resolveConfig({
          configDir: plain,
          overrides: ["datasources.warehouse_rw.tenants.OT.password={cipher}abc"],
          env: {},
        }),
      /--set: datasources\.warehouse_rw\.tenants\.OT\.password is encrypted \(\{cipher\}\) and cannot be decrypted: no key/,
    );
  });

  it("accepts only staging locations and roles that are safe inside SQL string literals", () => {
    const refused = [
      ["archive.uri-root=s3://bucket/x'y", /archive\.uri-root "s3:\/\/bucket\/x'y" is not s3:\/\/bucket/],
      ["archive.uri-root=ftp://host/x", /archive\.uri-root "ftp:\/\/host\/x" is not/],
      ["archive.tenants.OT.path-prefix=o t", /archive\.tenants\.OT\.path-prefix "o t" is not letters/],
      [
        "migrate.aws.redshift.role=arn:aws:iam::123456789012:role/x'",
        /migrate\.aws\.redshift\.role .* is not an IAM role ARN/,
      ],
    ] as const;
    for (const [override, message] of refused) {
      assert.throws(() => resolveConfig({ configDir: plain, overrides: [override], env: {} }), message);
    }
    const config = resolveConfig({
      configDir: plain,
      overrides: ["migrate.aws.redshift.role=aws_iam_role=arn:aws:iam::123456789012:role/rdw-redshift"],
      env: {},
    });
    assert.equal(config.redshiftRole, "aws_iam_role=arn:aws:iam::123456789012:role/rdw-redshift");
  });

  it("refuses archive paths that could leave the archive or be read two ways, naming file and property", () => {
    const prefix = (value: string) => `archive.tenants.OT.path-prefix=${value}`;
    const refused = [
      [
        prefix("../../etc"),
        /--set: archive\.tenants\.OT\.path-prefix "\.\.\/\.\.\/etc" has a "\.\." segment/,
      ],
      [prefix("ot/.."), /path-prefix "ot\/\.\." has a "\.\." segment/],
      [prefix("/ot"), /path-prefix "\/ot" starts with \//],
      [prefix("a//b"), /path-prefix "a\/\/b" has an empty segment/],
      [prefix("a//"), /path-prefix "a\/\/" has an empty segment/],
      [prefix("./a"), /path-prefix "\.\/a" has a "\." segment/],
      ["archive.uri-root=file:///tmp/archive/../../etc", /archive\.uri-root ".*" has a "\.\." segment/],
      ["archive.uri-root=s3://bucket/a//b", /archive\.uri-root ".*" has an empty segment/],
      ["archive.uri-root=s3://bucket//", /archive\.uri-root ".*" has an empty segment/],
      ["archive.uri-root=file:////tmp", /archive\.uri-root ".*" has an empty segment/],
    ] as const;
    for (const [override, message] of refused) {
      assert.throws(
        () => resolveConfig({ configDir: plain, overrides: [override], env: {} }),
        (error: Error) => error instanceof ConfigError && message.test(error.message),
        override,
      );
    }
    const config = resolveConfig({
      configDir: plain,
      overrides: [prefix("ot/2026/"), "archive.uri-root=file:///tmp/archive/"],
      env: {},
    });
    assert.equal(config.tenants[0]!.pathPrefix, "ot/2026", "one trailing slash is dropped");
    assert.equal(config.uriRoot, "file:///tmp/archive");
  });

  it("parses --since as UTC and refuses invalid times", () => {
    assert.equal(parseSince("2019-11-01"), "2019-11-01 00:00:00.000000");
    assert.equal(parseSince("2020-02-29T13:45:10.5Z"), "2020-02-29 13:45:10.500000");
    for (const bad of ["2019-13-01", "2019-02-30", "yesterday", "2019-11-01 25:00", "2019-11-01+05:00"]) {
      assert.throws(() => parseSince(bad), ConfigError, bad);
    }
  });

  it("gives every tenant and run its own staging folder", () => {
    const tenants = resolveConfig({
      configDir: plain,
      overrides: ["archive.tenants.PA.path-prefix="],
      env: {},
    }).tenants;
    const withoutPrefix = tenants.map((t) => ({ ...t, pathPrefix: t.id === "OT" ? "" : t.pathPrefix }));
    const uris = stagingUris("s3://b", withoutPrefix, "run1");
    assert.equal(uris.get("TS_S001"), "s3://b/ts_s001/MigrateAdHoc/exam_alt_score/run1/");
    // OT and PA have no prefix: they would share a folder, so each gets its own.
    assert.equal(uris.get("OT"), "s3://b/MigrateAdHoc/exam_alt_score/run1/OT/");
    assert.equal(uris.get("PA"), "s3://b/MigrateAdHoc/exam_alt_score/run1/PA/");
    assert.notEqual(
      stagingUris("s3://b", tenants, "run2").get("OT"),
      stagingUris("s3://b", tenants, "run1").get("OT"),
    );
  });
});
