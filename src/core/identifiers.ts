import { ConfigError } from "./errors.js";

/**
 * Identifiers that come from configuration (tenant ids, databases, schemas) end up in SQL
 * text, so only plain identifiers are accepted; the dialects quote them as well.
 */
export const PLAIN_IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

export function requirePlainIdentifier(value: string, what: string): string {
  if (!PLAIN_IDENTIFIER.test(value)) {
    throw new ConfigError(`${what} ${JSON.stringify(value)} is not a plain identifier (letters, digits, _)`);
  }
  return value;
}
