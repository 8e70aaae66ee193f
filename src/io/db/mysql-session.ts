import mysql, { type Connection, type ResultSetHeader, type RowDataPacket } from "mysql2";
import type { Readable } from "node:stream";
import type { DatabaseLogin } from "../../config/settings.js";
import { type RuntimeError, StalledError } from "../../core/errors.js";
import type { MysqlStatement } from "../../core/statement.js";
import { sessionFailure } from "./failure.js";

export interface StreamOptions {
  /** How long to wait for a row before asking `stillWorking`, or failing. */
  stallMs?: number;
  /** What the stream does, for the stall's message. */
  doing?: string;
  /** Given this session's id on the server: true while it still works on the statement. */
  stillWorking?: (threadId: number | null) => Promise<boolean>;
}

/** A row as the server sent it in the text protocol: every value is its text, NULL is null. */
export type TextRow = (string | null)[];

/**
 * A warehouse session (Aurora MySQL, MySQL or MariaDB) that sends MySQL-protocol statements.
 * Values are kept as the server's text, so the staged bytes match what `INTO OUTFILE` writes.
 */
export class MysqlSession {
  private constructor(
    private readonly connection: Connection,
    private readonly describe: string,
  ) {}

  /** Connects and runs the dialect's session statements (time zone, read-only, …). */
  static async open(
    login: DatabaseLogin,
    what: string,
    setup: readonly MysqlStatement[],
  ): Promise<MysqlSession> {
    const describe = `${what} ${login.user}@${login.host}:${login.port}/${login.database}`;
    const connection = mysql.createConnection({
      host: login.host,
      port: login.port,
      user: login.user,
      password: login.password,
      database: login.database,
      connectTimeout: 10_000,
      dateStrings: true,
      supportBigNumbers: true,
      bigNumberStrings: true,
      enableKeepAlive: true,
    });
    connection.on("error", () => undefined); // reported through the failing query instead
    const session = new MysqlSession(connection, describe);
    try {
      await new Promise<void>((resolve, reject) =>
        connection.connect((error) => (error ? reject(error) : resolve())),
      );
      for (const statement of setup) await session.query(statement);
    } catch (error) {
      connection.destroy();
      throw session.failure(error);
    }
    return session;
  }

  async query<T extends object>(statement: MysqlStatement): Promise<T[]> {
    try {
      const [rows] = await this.connection
        .promise()
        .query<RowDataPacket[]>(statement.sql, [...statement.params]);
      return rows as T[];
    } catch (error) {
      throw this.failure(error);
    }
  }

  /** Runs a statement that returns no rows, e.g. `SELECT … INTO OUTFILE`; returns the rows it affected or wrote. */
  async execute(statement: MysqlStatement): Promise<number> {
    try {
      const [result] = await this.connection
        .promise()
        .query<ResultSetHeader>(statement.sql, [...statement.params]);
      return result.affectedRows;
    } catch (error) {
      throw this.failure(error);
    }
  }

  /**
   * Streams a result with backpressure, as many rows at a time as have arrived (the server waits
   * while we do); each row is an array of text values in select order. `stallMs` bounds each wait
   * for the server: when no row comes for that long (a lock held elsewhere, a server that stopped
   * answering) the session is closed and the stream fails with a StalledError.
   */
  stream(statement: MysqlStatement, options: StreamOptions = {}): AsyncIterable<TextRow[]> {
    const query = this.connection.query({
      sql: statement.sql,
      values: [...statement.params],
      rowsAsArray: true,
      typeCast: (field: { string(): string | null }) => field.string(),
    } as mysql.QueryOptions);
    return this.inBatches(query.stream({ highWaterMark: 4096 }), options);
  }

  /** One await per batch rather than per row: at millions of rows the difference is seconds. */
  private async *inBatches(rows: Readable, options: StreamOptions): AsyncGenerator<TextRow[]> {
    let failure: unknown;
    let ended = false;
    rows.once("error", (error) => (failure = error));
    rows.once("end", () => (ended = true));
    // A connection killed or dropped mid-result may close without an error on the query stream:
    // the connection's own end or error fails the stream at once.
    const lost = (error?: unknown) =>
      (failure ??=
        error ??
        Object.assign(new Error("the server closed the connection"), { code: "PROTOCOL_CONNECTION_LOST" }));
    this.connection.once("end", lost).once("error", lost);
    try {
      for (;;) {
        const batch: TextRow[] = [];
        let row: TextRow | null;
        while ((row = rows.read() as TextRow | null) !== null) batch.push(row);
        if (batch.length > 0) yield batch;
        else if (failure !== undefined) throw this.failure(failure);
        else if (ended) return;
        else if (
          !(await this.nextRows(rows, () => failure !== undefined, options.stallMs)) &&
          !(await this.stillWorking(options))
        ) {
          this.connection.destroy();
          throw new StalledError(
            `${this.describe}: no row for ${Math.round(options.stallMs! / 1000)} s while ${options.doing ?? "streaming rows"} ` +
              "(a lock held by another session, or a server that stopped answering)",
          );
        }
      }
    } finally {
      this.connection.off("end", lost).off("error", lost);
    }
  }

  /**
   * After `stallMs` without a row: whether the server is still working on the statement (a long
   * scan that has found nothing yet), as the caller can tell from another session. A lock wait
   * or a statement gone from the server is a stall.
   */
  private async stillWorking(options: StreamOptions): Promise<boolean> {
    if (!options.stillWorking) return false;
    return options.stillWorking(this.connection.threadId).catch(() => false);
  }

  /** Waits for rows, the end, or a failure; false when `stallMs` passed first. */
  private nextRows(rows: Readable, failed: () => boolean, stallMs: number | undefined): Promise<boolean> {
    return new Promise<boolean>((resolve) => {
      const done = (arrived: boolean) => {
        clearTimeout(timer);
        clearInterval(poll);
        rows.off("readable", wake).off("end", wake).off("error", wake);
        resolve(arrived);
      };
      const wake = () => done(true);
      const timer = stallMs === undefined ? undefined : setTimeout(() => done(false), stallMs);
      // The connection's end or error sets the failure without waking the query stream.
      const poll = setInterval(() => failed() && done(true), 250);
      rows.on("readable", wake).on("end", wake).on("error", wake);
    });
  }

  /** Ends the session; after an interrupted stream the server may not answer, so do not wait long. */
  async close(): Promise<void> {
    await Promise.race([
      new Promise<void>((resolve) => this.connection.end(() => resolve())),
      new Promise<void>((resolve) => setTimeout(resolve, 2000).unref()),
    ]);
    this.connection.destroy();
  }

  private failure(error: unknown): RuntimeError {
    return sessionFailure(this.describe, error, ["ER_ACCESS_DENIED_ERROR"]);
  }
}
