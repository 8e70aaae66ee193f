/** How rows leave the warehouse: streamed through this process, or written to S3 by Aurora itself. */
export type ExtractMode = "stream" | "aurora";
/** How rows enter the OLAP staging table: `COPY … FROM STDIN`, or Redshift's `COPY … FROM 's3://…'`. */
export type LoadMode = "postgres" | "redshift";

export type ModeRequest<T extends string> = T | "auto";

/** A chosen mode and the reason, as the plan shows it. */
export interface ModeChoice<T extends string> {
  mode: T;
  reason: string;
}

export interface ServerFacts {
  /** `@@aurora_version`, when the warehouse is Aurora MySQL. */
  auroraVersion: string | undefined;
  /** The warehouse's `version()`. */
  warehouseVersion: string;
  /** The OLAP server's `version()`. */
  olapVersion: string;
}

export const isRedshift = (version: string) => /redshift/i.test(version);

export function chooseExtract(
  request: ModeRequest<ExtractMode>,
  facts: ServerFacts,
): ModeChoice<ExtractMode> {
  if (request !== "auto") return { mode: request, reason: `--extract ${request}` };
  return facts.auroraVersion
    ? { mode: "aurora", reason: `auto: @@aurora_version = ${facts.auroraVersion}` }
    : { mode: "stream", reason: `auto: not Aurora (${facts.warehouseVersion})` };
}

export function chooseLoad(request: ModeRequest<LoadMode>, facts: ServerFacts): ModeChoice<LoadMode> {
  if (request !== "auto") return { mode: request, reason: `--load ${request}` };
  return isRedshift(facts.olapVersion)
    ? { mode: "redshift", reason: "auto: version() names Redshift" }
    : { mode: "postgres", reason: `auto: not Redshift (${facts.olapVersion.split(" on ")[0]})` };
}
