import pg from "pg";
import { from as copyFrom } from "pg-copy-streams";
import type { Writable } from "node:stream";
import type { DatabaseLogin } from "../../config/settings.js";
import type { RuntimeError } from "../../core/errors.js";
import type { PgStatement } from "../../core/statement.js";
import { sessionFailure } from "./failure.js";

export interface CopyResult {
  rows: number;
}

/**
 * An OLAP session (Redshift or PostgreSQL) that sends PostgreSQL-protocol statements. One
 * session carries a tenant's whole load: on Redshift its temporary work tables live exactly as
 * long as it does.
 */
export class PgSession {
  /**
   * The statement under way: the next waits for it. One pg client serves one caller at a time
   * (pg 9 refuses a query sent while another runs), so callers that share a session, such as
   * verify's aggregates sent at once, are served one after another.
   */
  private busy: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly client: pg.Client,
    private readonly describe: string,
  ) {}

  /** Connects and runs the dialect's session statements (time zone, memory, read-only, …). */
  static async open(login: DatabaseLogin, what: string, setup: readonly PgStatement[]): Promise<PgSession> {
    const describe = `${what} ${login.user}@${login.host}:${login.port}/${login.database}`;
    const client = new pg.Client({
      host: login.host,
      port: login.port,
      user: login.user,
      password: login.password,
      database: login.database,
      connectionTimeoutMillis: 10_000,
      keepAlive: true,
      application_name: "rdw-backfill",
    });
    client.on("error", () => undefined); // reported through the failing query instead
    const session = new PgSession(client, describe);
    try {
      await client.connect();
      for (const statement of setup) await session.query(statement);
    } catch (error) {
      await client.end().catch(() => undefined);
      throw session.failure(error);
    }
    return session;
  }

  query<T extends object = Record<string, unknown>>(
    statement: PgStatement,
  ): Promise<{ rows: T[]; rowCount: number }> {
    return this.inTurn(async () => {
      try {
        const result = await this.client.query(statement.sql, [...statement.params]);
        return { rows: result.rows as T[], rowCount: result.rowCount ?? 0 };
      } catch (error) {
        throw this.failure(error);
      }
    });
  }

  /**
   * Hands each row to `onRow` as it arrives, as an array of its values, and keeps none: pg does
   * not accumulate the rows of a query that has a "row" listener and no callback. For results of
   * millions of small rows (verify's exam ids), which would otherwise be built as objects, held
   * until the last one arrives and so promoted to the old heap. Resolves with the row count.
   */
  eachRow(statement: PgStatement, onRow: (values: unknown[]) => void): Promise<number> {
    return this.inTurn(
      () =>
        new Promise<number>((resolve, reject) => {
          let rows = 0;
          const config: pg.QueryArrayConfig = {
            text: statement.sql,
            values: [...statement.params],
            rowMode: "array",
          };
          // A throw inside pg's row event would escape into its socket handler: it is kept, and
          // the promise rejected once the server has finished the statement.
          let rowFailure: unknown;
          const query = new pg.Query(config);
          query.on("row", (values: unknown[]) => {
            rows += 1;
            if (rowFailure !== undefined) return;
            try {
              onRow(values);
            } catch (error) {
              rowFailure = error;
            }
          });
          query.on("error", (error) => reject(this.failure(error)));
          query.on("end", () => (rowFailure === undefined ? resolve(rows) : reject(rowFailure)));
          this.client.query(query);
        }),
    );
  }

  private inTurn<T>(work: () => Promise<T>): Promise<T> {
    const turn = this.busy.then(work);
    this.busy = turn.catch(() => undefined);
    return turn;
  }

  /** Runs `work` in one transaction: committed if it returns, rolled back if it throws. */
  async inTransaction<T>(work: () => Promise<T>): Promise<T> {
    await this.query(TRANSACTION.begin);
    try {
      const result = await work();
      await this.query(TRANSACTION.commit);
      return result;
    } catch (error) {
      await this.query(TRANSACTION.rollback).catch(() => undefined);
      throw error;
    }
  }

  /** A single number from a `SELECT count(*) AS n` style statement. */
  async count(statement: PgStatement): Promise<number> {
    const { rows } = await this.query<Record<string, string | number>>(statement);
    const first = rows[0];
    return first === undefined ? 0 : Number(Object.values(first)[0]);
  }

  /** Opens `COPY … FROM STDIN`; write the CSV bytes into the returned stream, then await `done`. */
  copyIn(statement: PgStatement): { input: Writable; done: Promise<CopyResult> } {
    const input = this.client.query(copyFrom(statement.sql));
    const done = new Promise<CopyResult>((resolve, reject) => {
      input.on("finish", () => resolve({ rows: Number(input.rowCount ?? 0) }));
      input.on("error", (error) => reject(this.failure(error)));
    });
    // Statements sent while the COPY runs wait for it to end.
    this.busy = Promise.all([this.busy, done]).catch(() => undefined);
    return { input, done };
  }

  async close(): Promise<void> {
    await this.client.end().catch(() => undefined);
  }

  private failure(error: unknown): RuntimeError {
    return sessionFailure(this.describe, error, ["28P01", "28000"]);
  }
}

/** Transaction control, the same on PostgreSQL and Redshift. */
const TRANSACTION = {
  begin: { protocol: "postgres", sql: "BEGIN", params: [] },
  commit: { protocol: "postgres", sql: "COMMIT", params: [] },
  rollback: { protocol: "postgres", sql: "ROLLBACK", params: [] },
} as const satisfies Record<string, PgStatement>;
