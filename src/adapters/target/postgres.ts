import pg from "pg";
import { from as copyFrom } from "pg-copy-streams";
import type { Writable } from "node:stream";
import type { DatabaseLogin } from "../../config/settings.js";
import { RuntimeError } from "../../errors.js";
import type { Statement } from "../../plan/actions.js";
import { isRedshift } from "../../plan/modes.js";
import { OLAP_SESSION, olapVersionQuery } from "../../plan/sql/olap.js";

export interface CopyResult {
  rows: number;
}

/**
 * An OLAP session (Redshift or PostgreSQL) in UTC. One session carries a tenant's whole load:
 * on Redshift its temporary work tables live exactly as long as it does.
 */
export class OlapConnection {
  /** The server's `version()`: tells Redshift from PostgreSQL. */
  version = "";

  private constructor(
    private readonly client: pg.Client,
    private readonly describe: string,
  ) {}

  static async open(
    login: DatabaseLogin,
    what: string,
    options: { readOnly: boolean },
  ): Promise<OlapConnection> {
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
    const olap = new OlapConnection(client, describe);
    try {
      await client.connect();
      for (const statement of OLAP_SESSION) await olap.query(statement);
      const { rows } = await olap.query<{ version: string }>(olapVersionQuery());
      olap.version = rows[0]?.version ?? "";
      // PostgreSQL can enforce a read-only session; on Redshift the plan simply runs only SELECTs.
      if (options.readOnly && !isRedshift(olap.version)) {
        await olap.query({ sql: "SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY", params: [] });
      }
    } catch (error) {
      await client.end().catch(() => undefined);
      throw olap.failure(error);
    }
    return olap;
  }

  async query<T extends object = Record<string, unknown>>(
    statement: Statement,
  ): Promise<{ rows: T[]; rowCount: number }> {
    try {
      const result = await this.client.query(statement.sql, [...statement.params]);
      return { rows: result.rows as T[], rowCount: result.rowCount ?? 0 };
    } catch (error) {
      throw this.failure(error);
    }
  }

  /** Runs `work` in one transaction: committed if it returns, rolled back if it throws. */
  async inTransaction<T>(work: () => Promise<T>): Promise<T> {
    await this.query({ sql: "BEGIN", params: [] });
    try {
      const result = await work();
      await this.query({ sql: "COMMIT", params: [] });
      return result;
    } catch (error) {
      await this.query({ sql: "ROLLBACK", params: [] }).catch(() => undefined);
      throw error;
    }
  }

  /** A single number from a `SELECT count(*) AS n` style statement. */
  async count(statement: Statement): Promise<number> {
    const { rows } = await this.query<Record<string, string | number>>(statement);
    const first = rows[0];
    return first === undefined ? 0 : Number(Object.values(first)[0]);
  }

  /** Opens `COPY … FROM STDIN`; write the CSV bytes into the returned stream, then await `done`. */
  copyIn(statement: Statement): { input: Writable; done: Promise<CopyResult> } {
    const input = this.client.query(copyFrom(statement.sql));
    const done = new Promise<CopyResult>((resolve, reject) => {
      input.on("finish", () => resolve({ rows: Number(input.rowCount ?? 0) }));
      input.on("error", (error) => reject(this.failure(error)));
    });
    return { input, done };
  }

  async close(): Promise<void> {
    await this.client.end().catch(() => undefined);
  }

  private failure(error: unknown): RuntimeError {
    if (error instanceof RuntimeError) return error;
    const code = (error as { code?: string }).code;
    const message = (error as Error).message?.split("\n")[0] ?? String(error);
    const reason =
      code === "ECONNREFUSED" || code === "ENOTFOUND" || code === "ETIMEDOUT"
        ? `unreachable (${code})`
        : code === "28P01" || code === "28000"
          ? "access denied (wrong user or password)"
          : message;
    return new RuntimeError(`${this.describe}: ${reason}`, { cause: error });
  }
}
