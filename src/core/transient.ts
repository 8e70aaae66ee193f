/**
 * Failures worth another attempt: a dropped or refused connection, a server restarting, a
 * serialization conflict, S3 throttling or a 5xx. Anything else (a missing table, a syntax
 * error, a count that does not add up) stops the tenant.
 */
const TRANSIENT_CODES = new Set([
  "RDW_STALLED", // a wait that made no progress for its bound (see StalledError)
  "ECONNRESET",
  "ECONNREFUSED",
  "ETIMEDOUT",
  "EPIPE",
  "EAI_AGAIN",
  "PROTOCOL_CONNECTION_LOST",
  "ER_LOCK_DEADLOCK",
  "ER_LOCK_WAIT_TIMEOUT",
  "ER_CONNECTION_KILLED", // 1927: KILL CONNECTION, a proxy restart, an Aurora failover
  "ER_SERVER_SHUTDOWN", // 1053
  // Right after an Aurora failover the old writer answers as a reader for a moment (and with
  // 1290, ER_OPTION_PREVENTS_STATEMENT, naming --read-only: see READ_ONLY_FOR_NOW):
  "ER_READ_ONLY_MODE", // 1836
  "ER_CON_COUNT_ERROR", // 1040: too many connections, for a moment
  "57P01", // admin_shutdown
  "57P02", // crash_shutdown
  "57P03", // cannot_connect_now
  "08000",
  "08003",
  "08006",
  "40001", // serialization_failure
  "40P01", // deadlock_detected
  "55P03", // lock_not_available: lock_timeout passed while another session held the lock
]);
/**
 * Redshift reports a serialization conflict as `ERROR: 1023 DETAIL: Serializable isolation
 * violation on table …` with SQLSTATE XX000 (internal error), not 40001 ("Serializable isolation",
 * Redshift Database Developer Guide): the message tells it from other internal errors.
 */
const REDSHIFT_SERIALIZATION = /^\s*(ERROR:\s*)?1023\b|serializable isolation violation/i;
/** MySQL client errors by number, where the driver gives only `errno`: server gone (2006), lost (2013). */
const TRANSIENT_ERRNOS = new Set([1927, 1053, 1836, 1040, 2006, 2013]);
/**
 * MySQL's 1290 names the option that prevents the statement: `--read-only` (or
 * `--super-read-only`) is a writer turned reader by a failover, for a moment; `--secure-file-priv`
 * (an `INTO OUTFILE` where the server may not write) stays until someone changes the server.
 */
const READ_ONLY_FOR_NOW = /read[-_]only/i;
/**
 * Temporary AWS credentials that expired mid-run: the next attempt opens a new client, whose
 * credential chain fetches fresh ones where it can (instance or task role, SSO, a refreshed
 * profile); static environment credentials cannot refresh, and the tenant fails after its attempts.
 */
export const EXPIRED_CREDENTIALS = new Set(["ExpiredToken", "ExpiredTokenException", "RequestExpired"]);
const TRANSIENT_S3 = new Set([
  "SlowDown",
  "Throttling",
  "ThrottlingException",
  "RequestTimeout",
  "InternalError",
  "ServiceUnavailable",
  "TimeoutError", // the SDK's own request timeout
  ...EXPIRED_CREDENTIALS,
]);

export function isTransient(error: unknown): boolean {
  for (let current: unknown = error, depth = 0; current && depth < 5; depth++) {
    const e = current as {
      code?: unknown;
      errno?: unknown;
      name?: unknown;
      message?: unknown;
      detail?: unknown;
      $metadata?: { httpStatusCode?: number };
    };
    if (typeof e.code === "string" && TRANSIENT_CODES.has(e.code)) return true;
    if (typeof e.errno === "number" && TRANSIENT_ERRNOS.has(e.errno)) return true;
    if (
      (e.code === "ER_OPTION_PREVENTS_STATEMENT" || e.errno === 1290) &&
      READ_ONLY_FOR_NOW.test(String(e.message))
    )
      return true;
    if (typeof e.name === "string" && TRANSIENT_S3.has(e.name)) return true;
    if (e.code === "XX000" && REDSHIFT_SERIALIZATION.test(`${String(e.message)}\n${String(e.detail)}`))
      return true;
    const status = e.$metadata?.httpStatusCode;
    if (status !== undefined && (status >= 500 || status === 429)) return true;
    if (
      typeof e.message === "string" &&
      /Connection terminated unexpectedly|connection error and is not queryable|connection.*(lost|closed)/i.test(
        e.message,
      )
    )
      return true;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}
