import { createPrivateKey, type KeyObject } from "node:crypto";
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { ConfigError } from "../core/errors.js";
import { CIPHER_PREFIX, type Property, type PropertySet } from "./properties.js";
import { DecryptFailure, decryptRsaSecret, decryptText, isHex, type RsaSettings } from "./spring-crypto.js";

/**
 * `{cipher}` values, decrypted as Spring Cloud Config's server does before serving them
 * (CipherEnvironmentEncryptor). The key is either the server's `encrypt.key` (`ENCRYPT_KEY`),
 * which EncryptorFactory uses as an AES password with `encrypt.salt`, or as an RSA key when it is
 * an "RSA PRIVATE KEY" PEM; or a key store, whose keys this tool reads as `<alias>.pem` files.
 */
export interface CipherOptions {
  /** `--encrypt-key-file`: the key, instead of `encrypt.key`; trailing line breaks are dropped. */
  keyFile?: string | undefined;
  /** `--encrypt-key-dir`: the key store's keys, `<alias>.pem` each (RSA private keys). */
  keyDir?: string | undefined;
}

type Key = { origin: string } & (
  { kind: "aes"; password: string; salt: string } | { kind: "rsa"; key: KeyObject; settings: RsaSettings }
);

/** A value that cannot be decrypted: the message names its file and property. */
class CipherError extends ConfigError {}

/** RsaSecretEncryptor's defaults, which EncryptorFactory uses for a PEM given as `encrypt.key`. */
const DEFAULT_RSA: RsaSettings = { algorithm: "DEFAULT", salt: "deadbeef", gcm: false };
const KEY_NAME = /^[A-Za-z0-9_][A-Za-z0-9._-]*$/;

/**
 * After `{cipher}`: zero or more `{name:value}` prefixes (EnvironmentPrefixHelper; `{plain}`
 * ends them), then the cipher text. Only `{key:alias}` matters here.
 */
export function splitCipherValue(value: string): { alias: string | undefined; text: string } {
  let text = value.slice(CIPHER_PREFIX.length);
  let alias: string | undefined;
  for (;;) {
    if (text.startsWith("{plain}")) return { alias, text: text.slice("{plain}".length) };
    const prefix = /^\{([^{}:]*):([^{}]*)\}/.exec(text);
    if (!prefix) return { alias, text };
    if (prefix[1] === "key") alias = prefix[2];
    text = text.slice(prefix[0].length);
  }
}

/** Decrypts the `{cipher}` values a property set reads; keys are loaded on first use. */
export class CipherKeys {
  private readonly keys = new Map<string, Key>();
  private readingSetting = false;

  constructor(
    private readonly properties: PropertySet,
    private readonly options: CipherOptions,
  ) {}

  decrypt(property: Property): string {
    const where = `${property.source}: ${property.key} is encrypted ({cipher}) and cannot be decrypted`;
    const { alias, text } = splitCipherValue(property.value);
    let key: Key;
    try {
      key = alias !== undefined && this.options.keyDir ? this.storeKey(alias) : this.singleKey();
    } catch (error) {
      if (error instanceof CipherError || !(error instanceof ConfigError)) throw error;
      throw new CipherError(`${where}: ${error.message}`);
    }
    try {
      return key.kind === "rsa"
        ? decryptRsaSecret(key.key, key.settings, text)
        : decryptText(key.password, key.salt, text);
    } catch (error) {
      if (!(error instanceof DecryptFailure)) throw error;
      const hint =
        key.kind === "aes" && (alias !== undefined || !isHex(text))
          ? `; if it was made with a key store's RSA key${alias ? ` (${alias})` : ""}, give --encrypt-key-dir`
          : "";
      throw new CipherError(`${where} with the key from ${key.origin}: ${error.message}${hint}`);
    }
  }

  /**
   * `--encrypt-key-file`, else `encrypt.key` (from `--set`, `ENCRYPT_KEY` or the files, in that
   * order), else the key store's `encrypt.key-store.alias`.
   */
  private singleKey(): Key {
    return this.cached("", () => {
      const file = this.options.keyFile;
      if (file) return this.keyOf(readKeyFile(file), `--encrypt-key-file ${file}`);
      const material = this.setting("encrypt.key");
      if (material !== undefined) return this.keyOf(material, this.properties.sourceOf("encrypt.key")!);
      const alias = this.setting("encrypt.key-store.alias");
      if (alias !== undefined && this.options.keyDir) return this.storeKey(alias);
      throw new ConfigError(
        "no key: set ENCRYPT_KEY, or give --encrypt-key-file, or --encrypt-key-dir with encrypt.key-store.alias or a {key:alias} prefix",
      );
    });
  }

  /** EncryptorFactory.create: an "RSA PRIVATE KEY" PEM is an RSA key, anything else an AES password. */
  private keyOf(material: string, origin: string): Key {
    if (material.includes("RSA PRIVATE KEY")) {
      const body = /-----BEGIN RSA PRIVATE KEY-----([\s\S]*?)-----END RSA PRIVATE KEY-----/.exec(
        material,
      )?.[1];
      const der = Buffer.from((body ?? "").replace(/\s+/g, ""), "base64");
      return {
        kind: "rsa",
        origin,
        key: privateKey({ key: der, format: "der", type: "pkcs1" }, origin),
        settings: DEFAULT_RSA,
      };
    }
    if (material.startsWith("ssh-rsa") || material.includes("RSA PUBLIC KEY")) {
      throw new ConfigError(`the key from ${origin} is a public key, which cannot decrypt`);
    }
    const salt = this.setting("encrypt.salt") ?? "deadbeef";
    if (!isHex(salt))
      throw new ConfigError(`${this.properties.sourceOf("encrypt.salt")}: encrypt.salt must be hex`);
    return { kind: "aes", origin, password: material, salt };
  }

  /** A key store's key, `<--encrypt-key-dir>/<alias>.pem`, with the server's `encrypt.rsa.*`. */
  private storeKey(alias: string): Key {
    return this.cached(`key:${alias}`, () => {
      if (!KEY_NAME.test(alias))
        throw new ConfigError(`key alias ${JSON.stringify(alias)} is not a plain file name`);
      const path = join(resolve(this.options.keyDir!), `${alias}.pem`);
      const pem = readKey(path, path);
      return { kind: "rsa", origin: path, key: privateKey(pem, path), settings: this.rsaSettings() };
    });
  }

  private rsaSettings(): RsaSettings {
    const algorithm = (this.setting("encrypt.rsa.algorithm") ?? "DEFAULT").toUpperCase();
    const strong = (this.setting("encrypt.rsa.strong") ?? "false").toLowerCase();
    if (algorithm !== "DEFAULT" && algorithm !== "OAEP") {
      throw new ConfigError(
        `${this.properties.sourceOf("encrypt.rsa.algorithm")}: encrypt.rsa.algorithm must be DEFAULT or OAEP`,
      );
    }
    if (strong !== "true" && strong !== "false") {
      throw new ConfigError(
        `${this.properties.sourceOf("encrypt.rsa.strong")}: encrypt.rsa.strong must be true or false`,
      );
    }
    return { algorithm, salt: this.setting("encrypt.rsa.salt") ?? "deadbeef", gcm: strong === "true" };
  }

  private cached(name: string, load: () => Key): Key {
    const key = this.keys.get(name) ?? load();
    this.keys.set(name, key);
    return key;
  }

  /** An `encrypt.*` property; those cannot be `{cipher}` values themselves. */
  private setting(key: string): string | undefined {
    if (this.readingSetting || this.properties.isEncrypted(key)) {
      throw new ConfigError(`${this.properties.sourceOf(key)}: ${key} cannot be encrypted`);
    }
    this.readingSetting = true;
    try {
      return this.properties.get(key) || undefined;
    } finally {
      this.readingSetting = false;
    }
  }
}

/** The key in `--encrypt-key-file`, without the line break(s) that end the file. */
function readKeyFile(path: string): string {
  const material = readKey(path, `--encrypt-key-file ${path}`).replace(/[\r\n]+$/, "");
  if (!material) throw new ConfigError(`--encrypt-key-file ${path}: the file is empty`);
  return material;
}

function readKey(path: string, label: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (error) {
    throw new ConfigError(
      `${label}: cannot read the key (${(error as { code?: string }).code ?? "unreadable"})`,
    );
  }
}

function privateKey(source: Parameters<typeof createPrivateKey>[0], origin: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPrivateKey(source);
  } catch {
    throw new ConfigError(`${origin}: not an unencrypted RSA private key`);
  }
  if (key.asymmetricKeyType !== "rsa") throw new ConfigError(`${origin}: not an RSA private key`);
  return key;
}
