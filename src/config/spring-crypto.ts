import { constants, createDecipheriv, type KeyObject, pbkdf2Sync, privateDecrypt } from "node:crypto";

/**
 * The decrypting halves of Spring Security's encryptors (spring-security-crypto,
 * org.springframework.security.crypto.encrypt), which Spring Cloud Config uses for `{cipher}` values:
 *
 * - `AesBytesEncryptor` (`Encryptors.standard`, CBC; `Encryptors.stronger`, GCM): the AES-256 key is
 *   PBKDF2WithHmacSHA1 over the password's UTF-8 bytes with the hex-decoded salt, 1024 iterations;
 *   the bytes are a 16-byte random IV followed by AES/CBC/PKCS5Padding output (or AES/GCM/NoPadding
 *   output with its 128-bit tag at the end).
 * - `HexEncodingTextEncryptor` (`Encryptors.text`): those bytes hex-encoded, the text UTF-8.
 * - `RsaSecretEncryptor`: Base64 of [2-byte big-endian length n][n bytes: a random 16-byte secret,
 *   RSA-encrypted][that secret's lower-case hex as the password of an AesBytesEncryptor, CBC or GCM].
 */

/** A value that cannot be decrypted; the reason names no key and no plaintext. */
export class DecryptFailure extends Error {
  override name = "DecryptFailure";
}

const HEX = /^(?:[0-9a-fA-F]{2})*$/;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const IV_BYTES = 16;
const GCM_TAG_BYTES = 16;

export const isHex = (text: string): boolean => HEX.test(text);

/** `Encryptors.text(password, salt).decrypt(hex)`. */
export function decryptText(password: string, hexSalt: string, hex: string): string {
  if (hex.length === 0 || !isHex(hex)) throw new DecryptFailure("the value is not hex");
  return utf8(aesDecrypt(password, hexSalt, Buffer.from(hex, "hex"), false));
}

export interface RsaSettings {
  /** RsaAlgorithm.DEFAULT (the JDK's "RSA": PKCS#1 v1.5 padding) or OAEP (SHA-1, MGF1 with SHA-1). */
  algorithm: "DEFAULT" | "OAEP";
  /** Hex; RsaSecretEncryptor hex-encodes the UTF-8 bytes of a salt that is not. */
  salt: string;
  /** `encrypt.rsa.strong`: AES/GCM instead of AES/CBC for the data. */
  gcm: boolean;
}

/** `new RsaSecretEncryptor(keyPair, algorithm, salt, gcm).decrypt(base64)`. */
export function decryptRsaSecret(key: KeyObject, settings: RsaSettings, base64: string): string {
  if (base64.length === 0 || !BASE64.test(base64)) throw new DecryptFailure("the value is not Base64");
  const bytes = Buffer.from(base64, "base64");
  const length = bytes.length >= 2 ? bytes.readUInt16BE(0) : -1;
  if (length <= 0 || 2 + length > bytes.length) throw new DecryptFailure("the value is corrupt");
  const random = rsaDecrypt(key, bytes.subarray(2, 2 + length), settings.algorithm);
  const salt = isHex(settings.salt) ? settings.salt : Buffer.from(settings.salt, "utf8").toString("hex");
  return utf8(aesDecrypt(random.toString("hex"), salt, bytes.subarray(2 + length), settings.gcm));
}

/** `AesBytesEncryptor.decrypt`: the IV first, then the CBC or GCM output. */
export function aesDecrypt(password: string, hexSalt: string, bytes: Buffer, gcm: boolean): Buffer {
  // At least one AES block (CBC) or the tag (GCM) after the IV.
  if (bytes.length < IV_BYTES + 16 || (!gcm && (bytes.length - IV_BYTES) % 16 !== 0)) {
    throw new DecryptFailure("the value is corrupt (wrong length)");
  }
  const key = pbkdf2Sync(password, Buffer.from(hexSalt, "hex"), 1024, 32, "sha1");
  const iv = bytes.subarray(0, IV_BYTES);
  try {
    if (gcm) {
      const decipher = createDecipheriv("aes-256-gcm", key, iv);
      decipher.setAuthTag(bytes.subarray(bytes.length - GCM_TAG_BYTES));
      return Buffer.concat([
        decipher.update(bytes.subarray(IV_BYTES, bytes.length - GCM_TAG_BYTES)),
        decipher.final(),
      ]);
    }
    const decipher = createDecipheriv("aes-256-cbc", key, iv);
    return Buffer.concat([decipher.update(bytes.subarray(IV_BYTES)), decipher.final()]);
  } catch {
    throw new DecryptFailure("wrong key or corrupt value");
  }
}

/**
 * RSA decryption of the random secret. PKCS#1 v1.5 padding is removed here, after a raw RSA
 * operation, because Node refuses that padding for private decryption (CVE-2023-46809, a timing
 * oracle that needs a server answering many queries; this is a one-shot command line tool).
 */
function rsaDecrypt(key: KeyObject, encrypted: Buffer, algorithm: RsaSettings["algorithm"]): Buffer {
  const size = Math.ceil((key.asymmetricKeyDetails?.modulusLength ?? 0) / 8);
  if (encrypted.length > size) throw new DecryptFailure("wrong key or corrupt value");
  const block = Buffer.concat([Buffer.alloc(size - encrypted.length), encrypted]);
  try {
    if (algorithm === "OAEP") {
      return privateDecrypt({ key, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: "sha1" }, block);
    }
    const padded = privateDecrypt({ key, padding: constants.RSA_NO_PADDING }, block);
    const separator = padded.indexOf(0, 2);
    if (padded[0] === 0 && padded[1] === 2 && separator >= 10) return padded.subarray(separator + 1);
  } catch {
    // reported below
  }
  throw new DecryptFailure("wrong key or corrupt value");
}

function utf8(bytes: Buffer): string {
  try {
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    throw new DecryptFailure("wrong key or corrupt value");
  }
}
