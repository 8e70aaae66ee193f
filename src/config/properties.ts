import { ConfigError } from "../core/errors.js";

/** How Spring marks an encrypted value. */
export const CIPHER_PREFIX = "{cipher}";

/** One configuration value as written, and where it was written (file path or `--set`). */
export interface Property {
  key: string;
  value: string;
  source: string;
}

/** A set of properties from one place; later layers win over earlier ones. */
export interface PropertyLayer {
  source: string;
  properties: Map<string, Property>;
}

/**
 * Spring relaxed binding: `path-prefix`, `pathPrefix`, `path_prefix` and `PATH_PREFIX` name the
 * same property. The canonical form is lower case with dashes and underscores removed.
 */
export function canonicalKey(key: string): string {
  return key
    .split(".")
    .map((segment) => segment.replace(/[-_]/g, "").toLowerCase())
    .join(".");
}

export function layerOf(source: string, entries: Iterable<[string, string]>): PropertyLayer {
  const properties = new Map<string, Property>();
  for (const [key, value] of entries) properties.set(canonicalKey(key), { key, value, source });
  return { source, properties };
}

/** Parses `--set key=value` arguments into the highest-precedence layer. */
export function overrideLayer(assignments: readonly string[]): PropertyLayer {
  const entries: [string, string][] = assignments.map((assignment) => {
    const equals = assignment.indexOf("=");
    if (equals <= 0) throw new ConfigError(`--set ${JSON.stringify(assignment)}: expected property=value`);
    return [assignment.slice(0, equals).trim(), assignment.slice(equals + 1)];
  });
  return layerOf("--set", entries);
}

const PLACEHOLDER = /\$\{([^}:]+)(?::([^}]*))?\}/g;
const MAX_PLACEHOLDER_DEPTH = 10;

/**
 * The merged view Spring would give a service: `--set` overrides, then environment variables
 * (as Spring's system environment source maps them), then the configuration files in order.
 * `${key}` and `${key:default}` placeholders are resolved against the same view.
 */
export class PropertySet {
  private readonly layersHighFirst: PropertyLayer[];
  private decrypt: ((property: Property) => string) | undefined;
  private readonly decrypted = new WeakMap<Property, string>();
  private decryptions = 0;
  private readonly readFromCipher = new Set<string>();

  constructor(
    layersLowFirst: PropertyLayer[],
    private readonly env: NodeJS.ProcessEnv,
  ) {
    this.layersHighFirst = [...layersLowFirst].reverse();
  }

  /** The property as written, before placeholders are resolved. */
  raw(key: string): Property | undefined {
    const canonical = canonicalKey(key);
    const override = this.layersHighFirst.find((layer) => layer.source === "--set");
    const fromOverride = override?.properties.get(canonical);
    if (fromOverride) return fromOverride;
    const fromEnv = this.fromEnvironment(key);
    if (fromEnv) return fromEnv;
    for (const layer of this.layersHighFirst) {
      const property = layer.properties.get(canonical);
      if (property) return property;
    }
    return undefined;
  }

  /**
   * Decrypts `{cipher}` values as they are read, before their placeholders are resolved (Spring
   * Cloud Config's server decrypts the values it serves; the service resolves placeholders).
   */
  decryptWith(decrypt: (property: Property) => string): void {
    this.decrypt = decrypt;
  }

  /** The resolved value, or undefined when the property is not set. */
  get(key: string): string | undefined {
    const property = this.raw(key);
    if (property === undefined) return undefined;
    const before = this.decryptions;
    const value = this.resolve(this.plain(property), property, 0);
    if (this.decryptions > before) this.readFromCipher.add(canonicalKey(key));
    return value;
  }

  /** Whether the property is a `{cipher}` value, or was read through a placeholder naming one. */
  isEncrypted(key: string): boolean {
    return (
      this.readFromCipher.has(canonicalKey(key)) || (this.raw(key)?.value.startsWith(CIPHER_PREFIX) ?? false)
    );
  }

  /** Where a property was set, for error messages. */
  sourceOf(key: string): string | undefined {
    return this.raw(key)?.source;
  }

  /** Names (as written) of the map entries directly below `prefix`, e.g. tenant ids. */
  childNames(prefix: string, onlySource?: string): string[] {
    const canonicalPrefix = canonicalKey(prefix) + ".";
    const depth = canonicalPrefix.split(".").length - 1;
    const names = new Map<string, string>();
    for (const layer of this.layersHighFirst) {
      if (onlySource !== undefined && layer.source !== onlySource) continue;
      for (const [canonical, property] of layer.properties) {
        if (!canonical.startsWith(canonicalPrefix)) continue;
        const written = property.key.split(".")[depth];
        const segment = canonical.split(".")[depth];
        if (written !== undefined && segment !== undefined && !names.has(segment))
          names.set(segment, written);
      }
    }
    return [...names.values()];
  }

  private fromEnvironment(key: string): Property | undefined {
    const upper = key.replace(/\./g, "_").replace(/-/g, "").toUpperCase();
    const candidates = [key, upper, upper.replace(/\[(\d+)\]/g, "_$1_")];
    for (const name of candidates) {
      const value = this.env[name];
      if (value !== undefined) return { key, value, source: `environment variable ${name}` };
    }
    return undefined;
  }

  private plain(property: Property): string {
    if (!this.decrypt || !property.value.startsWith(CIPHER_PREFIX)) return property.value;
    const value = this.decrypted.get(property) ?? this.decrypt(property);
    this.decrypted.set(property, value);
    this.decryptions++;
    return value;
  }

  private resolve(value: string, origin: Property, depth: number): string {
    if (!value.includes("${")) return value;
    if (depth >= MAX_PLACEHOLDER_DEPTH) {
      throw new ConfigError(`${origin.source}: property ${origin.key} has circular placeholders`);
    }
    return value.replace(PLACEHOLDER, (_match, name: string, fallback: string | undefined) => {
      const referenced = this.raw(name.trim());
      if (referenced) return this.resolve(this.plain(referenced), origin, depth + 1);
      if (fallback !== undefined) return this.resolve(fallback, origin, depth + 1);
      throw new ConfigError(
        `${origin.source}: property ${origin.key} has unresolvable placeholder \${${name}} (no such property or environment variable)`,
      );
    });
  }
}
