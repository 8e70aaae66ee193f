import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { expectAllCopied, expectEqual } from "../../src/core/checks.js";
import { ConfigError, RuntimeError, StepFailedError } from "../../src/core/errors.js";
import { isTransient } from "../../src/core/transient.js";

/** An error as a driver throws it: a message and a `code`. */
const coded = (code: string, message = `failed with ${code}`) => Object.assign(new Error(message), { code });

/** An error as the AWS SDK throws it: a `name` and the HTTP status in `$metadata`. */
const s3Error = (name: string, httpStatusCode: number) =>
  Object.assign(new Error(`S3 says ${name}`), { name, $metadata: { httpStatusCode } });

/** What the step runner sees when a session wraps a driver's error. */
const wrapped = (cause: unknown, levels = 1): Error => {
  let error = cause;
  for (let i = 0; i < levels; i++)
    error = new RuntimeError(`warehouse query failed (level ${i + 1})`, { cause: error });
  return error as Error;
};

const thrown = (work: () => void): unknown => {
  try {
    work();
  } catch (error) {
    return error;
  }
  assert.fail("expected a throw");
};

describe("isTransient: worth another attempt", () => {
  const codes = [
    "ECONNRESET", // the connection was reset
    "ECONNREFUSED",
    "ETIMEDOUT",
    "PROTOCOL_CONNECTION_LOST", // mysql2: the server closed the connection
    "ER_LOCK_DEADLOCK",
    "ER_LOCK_WAIT_TIMEOUT",
    "57P01", // admin_shutdown
    "08006", // connection_failure
    "40001", // serialization_failure
    "40P01", // deadlock_detected
  ];
  for (const code of codes) {
    it(`driver code ${code}`, () => {
      assert.equal(isTransient(coded(code)), true);
    });
  }

  for (const name of ["SlowDown", "InternalError", "ServiceUnavailable", "RequestTimeout"]) {
    it(`S3 error ${name}`, () => {
      // By its name alone: RequestTimeout comes with status 400, which is not retried by itself.
      assert.equal(isTransient(Object.assign(new Error(name), { name })), true);
    });
  }

  for (const status of [500, 503, 429]) {
    it(`HTTP status ${status} in $metadata`, () => {
      assert.equal(isTransient(s3Error("SomethingElse", status)), true);
    });
  }

  // "Serializable isolation" (Redshift Database Developer Guide): "ERROR: 1023 DETAIL: Serializable
  // isolation violation on table …", which the protocol carries as SQLSTATE XX000, not 40001.
  it("Redshift's serialization conflict: XX000 with error 1023, in the message or its detail", () => {
    const inDetail = Object.assign(new Error("1023"), {
      code: "XX000",
      detail: "Serializable isolation violation on table - 156362, transactions forming the cycle are: 1, 2",
    });
    assert.equal(isTransient(inDetail), true);
    assert.equal(isTransient(wrapped(inDetail, 2)), true);
    const inMessage = coded(
      "XX000",
      "ERROR: 1023 DETAIL: Serializable isolation violation on table - 156362",
    );
    assert.equal(isTransient(inMessage), true);
  });

  it("1290 naming --read-only (a writer turned reader by a failover, for a moment)", () => {
    const readOnly = Object.assign(
      coded(
        "ER_OPTION_PREVENTS_STATEMENT",
        "The MySQL server is running with the --read-only option so it cannot execute this statement",
      ),
      { errno: 1290 },
    );
    assert.equal(isTransient(readOnly), true);
    assert.equal(isTransient(wrapped(readOnly)), true);
  });

  it("an error nested in cause, one or several levels deep", () => {
    assert.equal(isTransient(wrapped(coded("ECONNRESET"))), true);
    assert.equal(isTransient(wrapped(coded("57P01"), 3)), true);
    assert.equal(isTransient(wrapped(s3Error("SlowDown", 503), 2)), true);
  });

  for (const message of [
    "Connection terminated unexpectedly",
    "Client has encountered a connection error and is not queryable",
    "Connection lost: The server closed the connection.",
    "Can't add new command when connection is in closed state", // mysql2 after the server closed it
  ]) {
    it(`a message like ${JSON.stringify(message)}`, () => {
      assert.equal(isTransient(new Error(message)), true);
      assert.equal(isTransient(wrapped(new Error(message))), true);
    });
  }
});

describe("isTransient: stops the tenant", () => {
  const notTransient: [string, unknown][] = [
    ["a syntax error (42601)", coded("42601", 'syntax error at or near "SELEC"')],
    ["an undefined table (42P01)", coded("42P01", 'relation "reporting_pa.exam_alt_score" does not exist')],
    ["ER_NO_SUCH_TABLE", coded("ER_NO_SUCH_TABLE", "Table 'warehouse_pa.exam' doesn't exist")],
    ["ER_ACCESS_DENIED_ERROR", coded("ER_ACCESS_DENIED_ERROR", "Access denied for user 'rdw'@'%'")],
    [
      "1290 naming --secure-file-priv (INTO OUTFILE where the server may not write: it stays so)",
      Object.assign(
        coded(
          "ER_OPTION_PREVENTS_STATEMENT",
          "The MariaDB server is running with the --secure-file-priv option so it cannot execute this statement",
        ),
        { errno: 1290 },
      ),
    ],
    ["a ConfigError", new ConfigError("archive.uri-root is not s3://bucket[/path] or file:///path")],
    ["a count-check RuntimeError", thrown(() => expectEqual("rows inserted = rows kept", 10, 9))],
    ["the check before merge", thrown(() => expectAllCopied(10, 9, "s3://b/x/"))],
    ["a failed step", new StepFailedError("verification failed: completeness", { checks: [] })],
    ["HTTP 403", s3Error("AccessDenied", 403)],
    ["HTTP 404", s3Error("NoSuchKey", 404)],
    ["a non-transient error wrapping another non-transient one", wrapped(coded("42601"), 2)],
    ["a plain string", "ECONNRESET"],
    ["undefined", undefined],
    ["null", null],
  ];
  for (const [what, error] of notTransient) {
    it(what, () => {
      assert.equal(isTransient(error), false);
    });
  }

  it("a cause chain that loops ends, and is not transient", () => {
    const a = new RuntimeError("a");
    const b = new RuntimeError("b", { cause: a });
    Object.assign(a, { cause: b });
    assert.equal(isTransient(a), false);
  });
});

describe("expired AWS credentials", () => {
  it("ExpiredToken is retried: the next attempt's client may fetch fresh credentials", () => {
    for (const name of ["ExpiredToken", "ExpiredTokenException", "RequestExpired"])
      assert.equal(
        isTransient(wrapped(Object.assign(new Error("The provided token has expired."), { name }))),
        true,
      );
  });
});
