import assert from "node:assert/strict";
import { createPrivateKey, generateKeyPairSync } from "node:crypto";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { splitCipherValue } from "../../src/config/cipher.js";
import { type ConfigOptions, resolveConfig } from "../../src/config/settings.js";
import { aesDecrypt, DecryptFailure, decryptRsaSecret, decryptText } from "../../src/config/spring-crypto.js";
import { ConfigError } from "../../src/core/errors.js";
import { optionsFromJournal } from "../../src/cli/commands/shared.js";
import { journalCommand, RunJournal } from "../../src/run/journal.js";
import { SPRING_TEST_KEY_PEM, springRsaEncrypt, springTextEncrypt } from "../helpers/spring-encrypt.js";

/*
 * Known values made by Spring's own encryptors, from Spring's public test sources:
 *
 * - spring-cloud/spring-cloud-commons,
 *   spring-cloud-context/src/test/java/org/springframework/cloud/bootstrap/encrypt/EncryptionIntegrationTests.java:
 *   with `encrypt.key:pie` (default salt deadbeef), `foo.password:{cipher}bf2945…` is "test";
 *   `{cipher}ZZZbf2945…` fails with "Cannot decrypt".
 * - spring-projects/spring-security,
 *   crypto/src/test/java/org/springframework/security/crypto/encrypt/AesBytesEncryptorTests.java:
 *   password "password", salt "deadbeef", IV 4b0febebd439db7ca77153cb254520c3: "value" is
 *   4b0f…fe94 with CBC and 4b0f…ed5ee with GCM.
 * - spring-cloud/spring-cloud-config,
 *   spring-cloud-config-server/src/test/resources/encrypt-repo/application.yml: `config.foo` is
 *   `{cipher}{key:mytestkey}AQCohs…`, made by the config server with the RSA key `mytestkey` of
 *   server.jks (SPRING_TEST_KEY_PEM). Spring's test does not state its plaintext; it is "foo", and
 *   both paddings (RSA PKCS#1 v1.5, then AES PKCS#5) have to check out to get there.
 */
const PIE_TEST = "bf29452295df354e6153c5b31b03ef23c70e55fba24299aa85c63438f1c43c95";
const AES_CBC_VALUE = "4b0febebd439db7ca77153cb254520c3b7232ac29355d07869433f1ecf55fe94";
const AES_GCM_VALUE = "4b0febebd439db7ca77153cb254520c3e4d61ae38207b4e42b820d311dc3d4e0e2f37ed5ee";
const MYTESTKEY_FOO =
  "AQCohs2V6P8/UiG6a4TF/CZTCBdt5Q7wvNvcyf6vs2ByK2ZYSM77Nu0sOAduxUpMbVwJ/syecmkIXR+hU3EfT2uqPieA7/v5n33ppqIQ9JAt5JggdYIGe+wX25zU3DTXOOJdAAMzNX+zjOVyCh0QtmJf/kFslg6NqQq0E+kSg3zBi3AnkKj5BLnLIxkjxzKA4mnDXpSm7ekLZZP2iQSYSW/82AC7UOLLzTqwInMI3tJLW1e9Ne+LDsjmSxA+nkK9zhidtXPwb/SPaNF74cJCEf9mgzzKYwJlwqChLzJt8UQ1jHwRc8B6FufmizUHSp27nxdtVB4HMqh3nNsMCy137Ces58T09ZS/y/cYNRxcFbp78MHFHUqAgbC0B/p5t6h4XbQ=";

/*
 * Made with OpenJDK 17's JCE by the calls RsaSecretEncryptor.encrypt and AesBytesEncryptor make
 * (Cipher "RSA" or "RSA/ECB/OAEPPadding", PBKDF2WithHmacSHA1, "AES/CBC/PKCS5Padding" or
 * "AES/GCM/NoPadding"), with mytestkey: they pin the JDK's defaults for OAEP (SHA-1, MGF1 SHA-1).
 */
const JDK_OAEP_CBC =
  "AQAwe79WPxLZxkPWMyWKW3vup8n+pIJjgZvbmHIecEFx/x6Lh23vSjFtonO3AZOqg0WpGJLlowPwcEVzpJBulvqMQ0XorVT0zFPfDxiOsTpzebFJZ0Hp6/tP7BP45iDExsyDkDV1OeowXN1on3mY/jpYdF27T7zKylyWWrRoINBZcOAFvGGjz/1/DyyWXgsdSLY/l0qEUjMpIL2ONsmfm67/kRkZaumvu995QKmMNaYydMoh9FH8TG3ivY5YAwABV1dRRLjkiuGBR1RNENHBxuTUy//RljmnN9HFlqGuITUwgjIKn2BQ7UrpFbCWgy518rzYthCXoqtHRGgwv/pgXl/WPt1Dc8mM6nwZ6sRoeZ6lIcEPZG5fWxbxpH+XA7mRMjQ=";
const JDK_DEFAULT_GCM =
  "AQCeIclM39LJuC30D7VcAPIMkQJH2lnQdbLO/vczINQS3MSfuDMS1WCTqynznYx/OMF4V68sh8DjUo3PTPHRJAdQKFPTfa7zlRwXZPZNJ4B7HmZTymw7ZRQvxPBj8uU3DjossVmAh5uMLxnqqCgVhKZg18CXcAZez2vvi3rcp8mdknp1I9D2S7ZyQxHwb93VbQqWAyPAE3NhGAin7Qi7pJ2NmFqLdTBk/G1Foh+ce7azjkOhlM1+d0K8pVxkdevUSwT0ccoXwAfip8OCdWxE3r/7Yc0XNGoh16Tlf1pIG/RduQoyFjukL3Nk7iiedSjbcJYPz/A2jiYc5Lu2VhnAhYYWXarRslzVHKYX2+BF+ufWicCY+hYluBMfFrhNJXRnc5NYtm4AkyBLNb1AOxwH";
const JDK_OAEP_GCM_SOMESALT =
  "AQCkc0ctCQ3m0hi+63yZ2eMAHG+1KryUGrrFX2S/mJitB0F9G7IhVcQmBolLsN33Q9Nc4t+VE5bzpwy5CpGVUTxG23iqW3I+2VDQto/noyZDoaJzH5OQuDedtsgxbMrHPRFbWm9KBXrLUTKCGmFfcdnW+J2qi0Bwo7Ebmpr/FFJ1+lYEpoXQPJQajGFMSgacnCDK9qPEyiDaJrpXOIYMK9B7d1hRHrGqwKTItFYVf4qwg+Mf+cFLHMyeWEosqGUJ565NTfWpDdBkhz3VeR02BTEVEs9mD5BY2f8aj66yJRyaqATkCZQoZOrCPob2rtM5SokJbeQDJ8ITM6YhUaudtYmd5OITG8rmQzGQxHXTRZpCERjVLbVWV+tzqObv40Gx2bVgfXAKcOnGWgW57Bar9A==";
const JDK_TEXT_PIE_CAFEBABE = "94c9abbf4bd18826febadafa1e31db6bfe47d3d69568e346ef3e5d582aaf0e9f";
/** A key that is not ASCII: PBKDF2WithHmacSHA1 takes the UTF-8 bytes of the password's characters. */
const JDK_TEXT_UNICODE_KEY = "2ee1b2fafa975e65aafe739ab091188141fcbc82f60e7c2f9a7d1128cdd3fc75";

const springKey = createPrivateKey(SPRING_TEST_KEY_PEM);

describe("Spring's encryptors, decrypting", () => {
  it("decrypts Spring Cloud's known {cipher} value and Spring Security's known AES values", () => {
    assert.equal(decryptText("pie", "deadbeef", PIE_TEST), "test");
    assert.throws(() => decryptText("pie", "deadbeef", `ZZZ${PIE_TEST}`), DecryptFailure);
    assert.equal(decryptText("password", "deadbeef", AES_CBC_VALUE), "value");
    assert.equal(
      aesDecrypt("password", "deadbeef", Buffer.from(AES_GCM_VALUE, "hex"), true).toString(),
      "value",
    );
    assert.equal(decryptText("pie", "cafebabe", JDK_TEXT_PIE_CAFEBABE), "ünïcode pw");
    assert.equal(decryptText("schlüssel ✓", "deadbeef", JDK_TEXT_UNICODE_KEY), "unicode key");
  });

  it("decrypts the config server's known RSA value and the JDK's OAEP and GCM ones", () => {
    const defaults = { algorithm: "DEFAULT", salt: "deadbeef", gcm: false } as const;
    assert.equal(decryptRsaSecret(springKey, defaults, MYTESTKEY_FOO), "foo");
    assert.equal(
      decryptRsaSecret(springKey, { ...defaults, algorithm: "OAEP" }, JDK_OAEP_CBC),
      "oaep-cbc-secret",
    );
    assert.equal(decryptRsaSecret(springKey, { ...defaults, gcm: true }, JDK_DEFAULT_GCM), "strong-secret");
    assert.equal(
      decryptRsaSecret(springKey, { algorithm: "OAEP", salt: "somesalt", gcm: true }, JDK_OAEP_GCM_SOMESALT),
      "pässwörd ✓",
    );
    // The wrong algorithm, salt or AES mode does not decrypt.
    assert.throws(
      () => decryptRsaSecret(springKey, { ...defaults, algorithm: "OAEP" }, MYTESTKEY_FOO),
      DecryptFailure,
    );
    assert.throws(
      () => decryptRsaSecret(springKey, { ...defaults, salt: "beef" }, MYTESTKEY_FOO),
      DecryptFailure,
    );
    assert.throws(
      () => decryptRsaSecret(springKey, { ...defaults, gcm: true }, MYTESTKEY_FOO),
      DecryptFailure,
    );
  });

  it("round-trips what Spring's algorithms encrypt, for every key, salt and mode", () => {
    for (const text of ["s3cret", "", "pässwörd with spaces ✓", "x".repeat(1000)]) {
      assert.equal(decryptText("pie", "deadbeef", springTextEncrypt("pie", text)), text);
      assert.equal(decryptText("k", "0123abcd", springTextEncrypt("k", text, "0123abcd")), text);
    }
    const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 1024 });
    for (const algorithm of ["DEFAULT", "OAEP"] as const) {
      for (const gcm of [false, true]) {
        for (const salt of ["deadbeef", "somesalt"]) {
          const value = springRsaEncrypt(privateKey, "rsa-secret", { algorithm, gcm, salt });
          assert.equal(decryptRsaSecret(privateKey, { algorithm, gcm, salt }, value), "rsa-secret");
        }
      }
    }
  });

  it("tells a wrong key, corrupt values and bad encodings apart from plaintext", () => {
    const value = springTextEncrypt("right", "secret");
    const failures: [() => unknown, RegExp][] = [
      [() => decryptText("wrong", "deadbeef", value), /wrong key or corrupt value/],
      [() => decryptText("right", "deadbeee", value), /wrong key or corrupt value/],
      [() => decryptText("right", "deadbeef", value.slice(0, -2)), /corrupt \(wrong length\)/],
      [() => decryptText("right", "deadbeef", value.slice(0, -1)), /not hex/],
      [() => decryptText("right", "deadbeef", "xyz!"), /not hex/],
      [() => decryptText("right", "deadbeef", ""), /not hex/],
      [
        () => decryptRsaSecret(springKey, { algorithm: "DEFAULT", salt: "deadbeef", gcm: false }, PIE_TEST),
        /./,
      ],
      [
        () => decryptRsaSecret(springKey, { algorithm: "DEFAULT", salt: "deadbeef", gcm: false }, "AQ!"),
        /not Base64/,
      ],
    ];
    for (const [decrypt, message] of failures) {
      assert.throws(
        decrypt,
        (error: Error) => error instanceof DecryptFailure && message.test(error.message),
      );
    }
    const other = generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey;
    assert.throws(
      () => decryptRsaSecret(other, { algorithm: "DEFAULT", salt: "deadbeef", gcm: false }, MYTESTKEY_FOO),
      DecryptFailure,
    );
  });

  it("reads the prefixes after {cipher} as the config server does", () => {
    assert.deepEqual(splitCipherValue("{cipher}abc"), { alias: undefined, text: "abc" });
    assert.deepEqual(splitCipherValue("{cipher}{key:k1}{secret:s}AQ=="), { alias: "k1", text: "AQ==" });
    assert.deepEqual(splitCipherValue("{cipher}{name:app}{key:k2}{plain}{x}y"), {
      alias: "k2",
      text: "{x}y",
    });
    assert.deepEqual(splitCipherValue("{cipher}{nocolon}ab"), { alias: undefined, text: "{nocolon}ab" });
  });
});

describe("{cipher} values in the configuration", () => {
  let root: string;
  let config: string;
  let keyDir: string;
  const pkcs1 = springKey.export({ type: "pkcs1", format: "pem" }) as string;

  const tenantFile = (password: string, olapPassword = "olap-plain") => `
tenantProperties:
  tenants:
    OT:
      id: OT
datasources:
  warehouse_rw:
    tenants:
      OT:
        url-parts:
          database: warehouse_ot
        username: ot_wh
        password: '${password}'
  olap_rw:
    tenants:
      OT:
        username: ot_olap
        password: '${olapPassword}'
`;

  async function repository(name: string, tenant: string, application = ""): Promise<string> {
    const dir = join(root, name);
    await mkdir(join(dir, "tenant-OT"), { recursive: true });
    await writeFile(
      join(dir, "application.yml"),
      `archive:\n  uri-root: s3://bucket\ndatasources:\n  warehouse_rw:\n    url-server: wh:3306\n  olap_rw:\n    url-server: rs:5439\n    url-db: rdw\n${application}`,
    );
    await writeFile(join(dir, "tenant-OT", "application.yml"), tenant);
    return dir;
  }

  const passwords = (options: Partial<ConfigOptions> & { configDir: string }) => {
    const tenant = resolveConfig({ env: {}, ...options }).tenants[0]!;
    return [tenant.warehouse.password, tenant.olap.password];
  };

  /** A ConfigError of one line naming the file and the property, without the secrets. */
  function refused(run: () => unknown, message: RegExp, ...secrets: string[]): void {
    assert.throws(run, (error: Error) => {
      assert.ok(error instanceof ConfigError, `${error.name}: ${error.message}`);
      assert.match(error.message, message);
      assert.ok(!error.message.includes("\n"), error.message);
      for (const secret of secrets) assert.ok(!error.message.includes(secret), error.message);
      return true;
    });
  }

  before(async () => {
    root = await mkdtemp(join(tmpdir(), "rdw-backfill-cipher-"));
    config = await repository("pie", tenantFile(`{cipher}${PIE_TEST}`));
    keyDir = join(root, "keys");
    await mkdir(keyDir);
    await writeFile(join(keyDir, "mytestkey.pem"), SPRING_TEST_KEY_PEM);
  });
  after(() => rm(root, { recursive: true, force: true }));

  it("decrypts with ENCRYPT_KEY, encrypt.key in a file or --set, or --encrypt-key-file, in that order", async () => {
    assert.deepEqual(passwords({ configDir: config, env: { ENCRYPT_KEY: "pie" } }), ["test", "olap-plain"]);
    assert.deepEqual(passwords({ configDir: config, overrides: ["encrypt.key=pie"] }), [
      "test",
      "olap-plain",
    ]);
    const inFile = await repository(
      "key-in-file",
      tenantFile(`{cipher}${PIE_TEST}`),
      "encrypt:\n  key: pie\n",
    );
    const wrongInFile = await repository(
      "wrong-in-file",
      tenantFile(`{cipher}${PIE_TEST}`),
      "encrypt:\n  key: cake\n",
    );
    assert.deepEqual(passwords({ configDir: wrongInFile, env: { ENCRYPT_KEY: "pie" } }), [
      "test",
      "olap-plain",
    ]);
    assert.deepEqual(
      passwords({ configDir: config, env: { ENCRYPT_KEY: "cake" }, overrides: ["encrypt.key=pie"] }),
      ["test", "olap-plain"],
    );
    assert.deepEqual(passwords({ configDir: inFile }), ["test", "olap-plain"]);
    const keyFile = join(root, "key.txt");
    await writeFile(keyFile, "pie\r\n");
    assert.deepEqual(
      passwords({ configDir: config, encryptKeyFile: keyFile, env: { ENCRYPT_KEY: "wrong" } }),
      ["test", "olap-plain"],
    );
  });

  it("uses encrypt.salt, and decrypts values that placeholders refer to before resolving them", async () => {
    const salted = await repository(
      "salted",
      tenantFile("${shared.password}", `{cipher}${springTextEncrypt("k", "olap ${who}", "0123abcd")}`),
      `encrypt:\n  salt: 0123abcd\nshared:\n  password: '{cipher}${springTextEncrypt("k", "wh-pw", "0123abcd")}'\nwho: me\n`,
    );
    assert.deepEqual(passwords({ configDir: salted, env: { ENCRYPT_KEY: "k" } }), ["wh-pw", "olap me"]);
  });

  it("uses an RSA private key given as the key, as EncryptorFactory does", async () => {
    const rsa = await repository("rsa-single", tenantFile(`{cipher}${MYTESTKEY_FOO}`));
    assert.deepEqual(passwords({ configDir: rsa, env: { ENCRYPT_KEY: pkcs1 } }), ["foo", "olap-plain"]);
    const oneLine = pkcs1.replace(/\n/g, ""); // Spring strips the line breaks too
    assert.deepEqual(passwords({ configDir: rsa, env: { ENCRYPT_KEY: oneLine } }), ["foo", "olap-plain"]);
  });

  it("reads key store keys from --encrypt-key-dir, by {key:alias} or encrypt.key-store.alias, with encrypt.rsa.*", async () => {
    const store = "encrypt:\n  key-store:\n    alias: mytestkey\n";
    const olap = springRsaEncrypt(springKey, "olap-rsa");
    const byDefault = await repository(
      "store",
      tenantFile(`{cipher}{key:mytestkey}${MYTESTKEY_FOO}`, `{cipher}${olap}`),
      store,
    );
    assert.deepEqual(passwords({ configDir: byDefault, encryptKeyDir: keyDir }), ["foo", "olap-rsa"]);
    refused(
      () =>
        passwords({ configDir: byDefault, encryptKeyDir: keyDir, overrides: ["encrypt.rsa.algorithm=OAEP"] }),
      /store\/tenant-OT\/application\.yml: datasources\.olap_rw\.tenants\.OT\.password is encrypted \(\{cipher\}\) and cannot be decrypted with the key from .*keys\/mytestkey\.pem: wrong key or corrupt value$/,
    );
    const strong = { algorithm: "OAEP", gcm: true, salt: "somesalt" } as const;
    const oaep = await repository(
      "store-oaep",
      tenantFile(
        `{cipher}{key:mytestkey}${JDK_OAEP_GCM_SOMESALT}`,
        `{cipher}${springRsaEncrypt(springKey, "olap-rsa", strong)}`,
      ),
      `${store}  rsa:\n    algorithm: oaep\n    strong: true\n    salt: somesalt\n`,
    );
    assert.deepEqual(passwords({ configDir: oaep, encryptKeyDir: keyDir }), ["pässwörd ✓", "olap-rsa"]);
  });

  it("refuses, in one line naming the file and the property, what it cannot decrypt", async () => {
    const where =
      /pie\/tenant-OT\/application\.yml: datasources\.warehouse_rw\.tenants\.OT\.password is encrypted \(\{cipher\}\) and cannot be decrypted/;
    const keyFile = join(root, "wrong-key.txt");
    await writeFile(keyFile, "not-the-pie-key\n");
    refused(() => passwords({ configDir: config }), new RegExp(`${where.source}: no key: set ENCRYPT_KEY`));
    refused(
      () => passwords({ configDir: config, env: { ENCRYPT_KEY: "cake" } }),
      new RegExp(
        `${where.source} with the key from environment variable ENCRYPT_KEY: wrong key or corrupt value$`,
      ),
      "cake",
      "test",
    );
    refused(
      () => passwords({ configDir: config, encryptKeyFile: keyFile }),
      /with the key from --encrypt-key-file .*wrong-key\.txt: wrong key or corrupt value$/,
      "not-the-pie-key",
    );
    refused(
      () => passwords({ configDir: config, encryptKeyFile: join(root, "missing.txt") }),
      /cannot be decrypted: --encrypt-key-file .*missing\.txt: cannot read the key \(ENOENT\)$/,
    );
    const corrupt = await repository("corrupt", tenantFile(`{cipher}${PIE_TEST.slice(0, 62)}00`));
    refused(
      () => passwords({ configDir: corrupt, env: { ENCRYPT_KEY: "pie" } }),
      /wrong key or corrupt value$/,
    );
    const badHex = await repository("bad-hex", tenantFile(`{cipher}ZZZ${PIE_TEST}`));
    refused(
      () => passwords({ configDir: badHex, env: { ENCRYPT_KEY: "pie" } }),
      /ENCRYPT_KEY: the value is not hex/,
    );
    const rsa = await repository("rsa", tenantFile(`{cipher}{key:mytestkey}${MYTESTKEY_FOO}`));
    refused(
      () => passwords({ configDir: rsa, env: { ENCRYPT_KEY: "pie" } }),
      /not hex; if it was made with a key store's RSA key \(mytestkey\), give --encrypt-key-dir$/,
    );
    refused(
      () => passwords({ configDir: rsa, encryptKeyDir: join(root, "nowhere") }),
      /cannot be decrypted: .*nowhere\/mytestkey\.pem: cannot read the key \(ENOENT\)$/,
    );
    refused(
      () => passwords({ configDir: config, overrides: ["encrypt.key=pie", "encrypt.salt=xyz"] }),
      /cannot be decrypted: --set: encrypt\.salt must be hex$/,
    );
    refused(
      () => passwords({ configDir: config, overrides: [`encrypt.key={cipher}${PIE_TEST}`] }),
      /encrypt\.key cannot be encrypted/,
    );
  });

  it("never shows a decrypted value in a message about it", async () => {
    const value = springTextEncrypt("pie", "ftp://secret-host/x");
    refused(
      () =>
        resolveConfig({
          configDir: config,
          env: { ENCRYPT_KEY: "pie" },
          overrides: [`archive.uri-root={cipher}${value}`],
        }),
      /archive\.uri-root \(encrypted\) is not s3:\/\/bucket/,
      "secret-host",
    );
    refused(
      () =>
        resolveConfig({
          configDir: config,
          env: { ENCRYPT_KEY: "pie" },
          overrides: [`shared.root={cipher}${value}`, "archive.uri-root=${shared.root}/x"],
        }),
      /archive\.uri-root \(encrypted\) is not s3:\/\/bucket/,
      "secret-host",
    );
  });

  it("keeps the key out of the journal: --set encrypt.key is left out, the key file's path kept", async () => {
    const command = journalCommand({
      configDir: "/c",
      tenants: ["OT"],
      overrides: ["encrypt.key=pie", "ENCRYPT_KEY=pie", "encrypt.salt=0123abcd", "encrypt.key-store.alias=k"],
      since: "2019-11-01 00:00:00",
      backup: true,
      extract: "auto",
      load: "auto",
      partBytes: 1,
      encryptKeyFile: "/keys/config-server.key",
    });
    assert.deepEqual(command.overrides, ["encrypt.salt=0123abcd", "encrypt.key-store.alias=k"]);
    assert.equal(command.encryptKeyFile, "/keys/config-server.key");
    assert.ok(!JSON.stringify(command).includes("pie"));
    // resume, rollback and cleanup read the key file again, unless given another.
    const runId = "20261101_000000_cafe";
    const stagingCopy = `file:///tmp/none/MigrateAdHoc/rdw-backfill/${runId}/`;
    const journal = { runId, status: "failed", command, stagingCopy, tenants: {} };
    await mkdir(join(root, "runs", runId), { recursive: true });
    await writeFile(join(root, "runs", runId, "journal.json"), JSON.stringify(journal));
    const loaded = await RunJournal.load(join(root, "runs"), runId);
    assert.equal(optionsFromJournal(loaded, { set: [] }).encryptKeyFile, "/keys/config-server.key");
    const given = optionsFromJournal(loaded, { set: ["encrypt.key=pie"], encryptKeyFile: "/other.key" });
    assert.deepEqual(
      [given.encryptKeyFile, given.encryptKeyDir, given.set],
      ["/other.key", undefined, ["encrypt.salt=0123abcd", "encrypt.key-store.alias=k", "encrypt.key=pie"]],
    );
  });
});
