/**
 * The two kinds of failure the command line tells apart by exit code:
 * a usage or configuration problem (2) and a failure while talking to a server (1).
 * Messages are one line and say what is wrong and where; they never carry secrets.
 */
export class ConfigError extends Error {
  readonly exitCode = 2;
  override name = "ConfigError";
}

export class RuntimeError extends Error {
  readonly exitCode = 1;
  override name = "RuntimeError";
}

/** A step failed, with details the report shows beyond the message (rejected rows, failed checks). */
export class StepFailedError<D extends object = object> extends RuntimeError {
  override name = "StepFailedError";

  constructor(
    message: string,
    readonly details: D,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/**
 * A wait made no progress for its bound: a stream that sent nothing, a COPY or an upload that took
 * nothing. Another attempt may get through (a lock released, a server back), so it is transient.
 */
export class StalledError extends RuntimeError {
  override name = "StalledError";
  readonly code = "RDW_STALLED";
}

/** One line describing any thrown value, for logs and reports. */
export function describeError(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    const text = error.message || String(code ?? error.name);
    return text.replace(/\s*\n\s*/g, " ");
  }
  return String(error);
}
