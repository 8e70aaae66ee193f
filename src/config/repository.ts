import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseAllDocuments } from "yaml";
import { ConfigError } from "../core/errors.js";
import { layerOf, overrideLayer, PropertyLayer, PropertySet } from "./properties.js";

/** The files of an RDW configuration repository that the back-fill reads, in precedence order. */
const SHARED_FILES = [
  { name: "application.yml", required: true },
  { name: "rdw-ingest-migrate-olap.yml", required: false },
  { name: "rdw-reporting-admin-service.yml", required: false },
] as const;

export interface ConfigRepository {
  dir: string;
  properties: PropertySet;
  /** Tenant ids as written, each with the tenant file that declares it. */
  tenantFiles: Map<string, string>;
}

export function loadConfigRepository(
  dir: string,
  overrides: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
): ConfigRepository {
  const root = resolve(dir);
  requireDirectory(root);
  const layers: PropertyLayer[] = [];
  for (const file of SHARED_FILES) {
    const path = join(root, file.name);
    if (!file.required && !exists(path)) continue;
    layers.push(readYamlLayer(path));
  }
  const tenantFiles = new Map<string, string>();
  const tenantFolders = readdirSync(root)
    .filter((name) => name.startsWith("tenant-"))
    .sort();
  for (const folder of tenantFolders) {
    const path = join(root, folder, "application.yml");
    if (!exists(path)) throw new ConfigError(`${join(root, folder)}: tenant folder has no application.yml`);
    const layer = readYamlLayer(path);
    layers.push(layer);
    const declared = new PropertySet([layer], {}).childNames("tenantProperties.tenants");
    if (declared.length === 0) {
      throw new ConfigError(`${path}: no tenant declared under tenantProperties.tenants`);
    }
    for (const id of declared) tenantFiles.set(id, path);
  }
  if (tenantFiles.size === 0) throw new ConfigError(`${root}: no tenant-*/application.yml found`);
  layers.push(overrideLayer(overrides));
  return { dir: root, properties: new PropertySet(layers, env), tenantFiles };
}

function requireDirectory(path: string): void {
  let isDirectory: boolean;
  try {
    isDirectory = statSync(path).isDirectory();
  } catch {
    throw new ConfigError(`${path}: configuration folder does not exist or cannot be read`);
  }
  if (!isDirectory) throw new ConfigError(`${path}: configuration path is not a folder`);
}

function exists(path: string): boolean {
  try {
    statSync(path);
    return true;
  } catch {
    return false;
  }
}

function readYamlLayer(path: string): PropertyLayer {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    const code = (error as { code?: string }).code ?? "unreadable";
    throw new ConfigError(`${path}: cannot read configuration file (${code})`);
  }
  const entries: [string, string][] = [];
  for (const document of parseAllDocuments(text)) {
    const problem = document.errors[0];
    if (problem) {
      const line = problem.linePos?.[0]?.line;
      throw new ConfigError(
        `${path}${line ? `:${line}` : ""}: invalid YAML: ${problem.message.split("\n")[0]}`,
      );
    }
    const tree: unknown = document.toJS();
    // Profile-specific documents apply only when that Spring profile is active; the back-fill runs none.
    if (isProfileSpecific(tree)) continue;
    flatten(tree, "", entries);
  }
  return layerOf(path, entries);
}

function isProfileSpecific(tree: unknown): boolean {
  if (!isRecord(tree) || !isRecord(tree.spring)) return false;
  const spring = tree.spring;
  return spring.profiles !== undefined || (isRecord(spring.config) && isRecord(spring.config.activate));
}

function flatten(node: unknown, prefix: string, into: [string, string][]): void {
  if (Array.isArray(node)) {
    node.forEach((item, index) => flatten(item, `${prefix}[${index}]`, into));
  } else if (isRecord(node)) {
    for (const [key, value] of Object.entries(node)) flatten(value, prefix ? `${prefix}.${key}` : key, into);
  } else if (prefix) {
    into.push([prefix, node === null || node === undefined ? "" : String(node)]);
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
