import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { canonicalKey, layerOf, overrideLayer, PropertySet } from "../../src/config/properties.js";
import { ConfigError } from "../../src/core/errors.js";

const file = (name: string, entries: Record<string, string>) => layerOf(name, Object.entries(entries));

describe("property resolution (Spring's rules, without files)", () => {
  it("kebab, camel, underscore and upper-case spellings name the same property", () => {
    const spellings = [
      "archive.path-prefix",
      "archive.pathPrefix",
      "archive.path_prefix",
      "ARCHIVE.PATH_PREFIX",
    ];
    assert.equal(new Set(spellings.map(canonicalKey)).size, 1);
    assert.notEqual(canonicalKey("archive.path-prefix"), canonicalKey("archivepath.prefix"));
    for (const written of spellings) {
      const set = new PropertySet([file("application.yml", { [written]: "pa" })], {});
      for (const asked of spellings) assert.equal(set.get(asked), "pa", `${written} asked as ${asked}`);
    }
  });

  it("a later file wins over an earlier one; the environment over both; --set over everything", () => {
    const files = [
      file("application.yml", { "olap.db": "from-first" }),
      file("tenant.yml", { "olap.db": "from-second" }),
    ];
    assert.equal(new PropertySet(files, {}).get("olap.db"), "from-second");
    assert.equal(new PropertySet(files, { OLAP_DB: "from-env" }).get("olap.db"), "from-env");
    const withSet = new PropertySet([...files, overrideLayer(["olap.db=from-set"])], { OLAP_DB: "from-env" });
    assert.equal(withSet.get("olap.db"), "from-set");
    assert.equal(withSet.sourceOf("olap.db"), "--set");
    assert.equal(
      new PropertySet(files, { OLAP_DB: "x" }).sourceOf("olap.db"),
      "environment variable OLAP_DB",
    );
    assert.equal(new PropertySet(files, {}).sourceOf("olap.db"), "tenant.yml");
  });

  it("environment variables are named as Spring maps them: dots to _, dashes dropped, upper case", () => {
    const set = new PropertySet([], { ARCHIVE_URIROOT: "s3://env-bucket" });
    assert.equal(set.get("archive.uri-root"), "s3://env-bucket");
    assert.equal(set.get("archive.uri-root.other"), undefined);
  });

  it("resolves ${key} and ${key:default}, nested, against the same view", () => {
    const set = new PropertySet(
      [
        file("application.yml", {
          "olap.database-name": "rdw",
          "olap.url": "jdbc:${olap.host:localhost}/${olap.databaseName}",
          "olap.host": "${OLAP_HOST:db.example}",
        }),
      ],
      {},
    );
    assert.equal(set.get("olap.url"), "jdbc:db.example/rdw");
    assert.equal(new PropertySet([file("a.yml", { x: "${missing:}" })], {}).get("x"), "");
  });

  it("an unresolvable placeholder names the property and its file", () => {
    const set = new PropertySet([file("application.yml", { "olap.password": "${OLAP_PASSWORD}" })], {});
    assert.throws(
      () => set.get("olap.password"),
      (error: Error) =>
        error instanceof ConfigError &&
        error.message.startsWith("application.yml: property olap.password") &&
        error.message.includes("${OLAP_PASSWORD}"),
    );
  });

  it("circular placeholders are refused instead of looping", () => {
    const set = new PropertySet([file("application.yml", { a: "${b}", b: "x${a}" })], {});
    assert.throws(
      () => set.get("a"),
      (error: Error) => error instanceof ConfigError && /circular/.test(error.message),
    );
  });

  it("--set needs property=value; the value may contain =", () => {
    for (const bad of ["novalue", "=x", ""]) assert.throws(() => overrideLayer([bad]), ConfigError, bad);
    const set = new PropertySet([overrideLayer(["migrate.role=aws_iam_role=arn:x"])], {});
    assert.equal(set.get("migrate.role"), "aws_iam_role=arn:x");
  });

  it("lists the map entries below a prefix as written, once each whatever the spelling", () => {
    const set = new PropertySet(
      [
        file("tenant-OT/application.yml", {
          "tenantProperties.tenants.OT.id": "OT",
          "tenantProperties.tenants.OT.name": "x",
        }),
        file("tenant-PA/application.yml", { "tenant-properties.tenants.PA.id": "PA" }),
      ],
      {},
    );
    assert.deepEqual(set.childNames("tenantProperties.tenants").sort(), ["OT", "PA"]);
    assert.deepEqual(set.childNames("tenantProperties.tenants", "tenant-PA/application.yml"), ["PA"]);
  });
});
