import { RuntimeError } from "../../core/errors.js";

const UNREACHABLE = new Set(["ECONNREFUSED", "ENOTFOUND", "ETIMEDOUT"]);

/**
 * A one-line error naming the server and login, never the password; the driver's error stays
 * the cause, so that its code tells whether another attempt may help.
 */
export function sessionFailure(
  describe: string,
  error: unknown,
  accessDeniedCodes: readonly string[],
): RuntimeError {
  if (error instanceof RuntimeError) return error;
  const code = (error as { code?: string }).code;
  const message = (error as Error).message?.split("\n")[0] ?? String(error);
  const reason =
    code !== undefined && UNREACHABLE.has(code)
      ? `unreachable (${code})`
      : code !== undefined && accessDeniedCodes.includes(code)
        ? "access denied (wrong user or password)"
        : message;
  return new RuntimeError(`${describe}: ${reason}`, { cause: error });
}
