import { requirePlainIdentifier } from "../core/identifiers.js";
import { fixed, StatementBuilder, type Wire } from "../core/statement.js";

/** The PostgreSQL protocol's placeholders, quoting and statement builders, shared by its statement modules. */
export const POSTGRES_WIRE: Wire<"postgres"> = { protocol: "postgres", placeholder: (n) => `$${n}` };

export const sql = (text: string | readonly string[]) => fixed(POSTGRES_WIRE, text);
export const builder = () => new StatementBuilder(POSTGRES_WIRE);

/** PostgreSQL/Redshift quoting. Redshift folds identifiers to lower case, so schemas are lower case. */
export function quotePg(identifier: string): string {
  return '"' + requirePlainIdentifier(identifier, "identifier") + '"';
}
