/**
 * The wire protocol a statement is written for. It fixes the placeholder syntax (`?` or `$n`)
 * and the session that may send it: a MySQL-protocol statement cannot be passed to a PostgreSQL
 * session, because the two `Statement` types do not fit each other. (Redshift speaks the
 * PostgreSQL protocol.)
 */
export type Protocol = "mysql" | "postgres";

/** A bound value; bytes reach MySQL as a hex literal (X'…'), a constant the server reads in place. */
export type BoundValue = string | number | Uint8Array;

/** One SQL statement exactly as it will be sent, with its bound values. */
export interface Statement<P extends Protocol = Protocol> {
  readonly protocol: P;
  readonly sql: string;
  readonly params: readonly BoundValue[];
}

export type MysqlStatement = Statement<"mysql">;
export type PgStatement = Statement<"postgres">;

/** How a dialect writes the placeholder of its n-th bound value (n counts from 1). */
export interface Wire<P extends Protocol> {
  readonly protocol: P;
  placeholder(position: number): string;
}

/**
 * Builds one statement: `bind` returns the dialect's next placeholder and remembers the value.
 * Values must be bound in the order their placeholders appear in the text (template literals
 * evaluate left to right), which is what `?` placeholders require.
 */
export class StatementBuilder<P extends Protocol> {
  private readonly params: BoundValue[] = [];

  constructor(private readonly wire: Wire<P>) {}

  bind(value: BoundValue): string {
    this.params.push(value);
    return this.wire.placeholder(this.params.length);
  }

  /**
   * A row count written into the text, for `LIMIT`: Redshift is reported to refuse `LIMIT $1`
   * for some parameter types, so a limit is a literal, and only a whole number is accepted.
   */
  limit(rows: number): string {
    if (!Number.isSafeInteger(rows) || rows < 0)
      throw new Error(`internal: LIMIT ${rows} is not a row count`);
    return String(rows);
  }

  /** Placeholders for a list of values, comma-separated (for `IN (…)`). */
  bindAll(values: readonly BoundValue[]): string {
    return values.map((value) => this.bind(value)).join(", ");
  }

  build(sql: string | readonly string[]): Statement<P> {
    return {
      protocol: this.wire.protocol,
      sql: typeof sql === "string" ? sql : sql.join("\n"),
      params: [...this.params],
    };
  }
}

/** A statement without bound values. */
export function fixed<P extends Protocol>(wire: Wire<P>, sql: string | readonly string[]): Statement<P> {
  return new StatementBuilder(wire).build(sql);
}
