import {
  constants,
  createCipheriv,
  type KeyObject,
  pbkdf2Sync,
  publicEncrypt,
  randomBytes,
} from "node:crypto";

/**
 * Spring's encrypting halves, written here from Spring Security's sources (crypto module,
 * org.springframework.security.crypto.encrypt: AesBytesEncryptor, HexEncodingTextEncryptor,
 * RsaSecretEncryptor) with Node's crypto, for round trips through the tool's decryption.
 */

/** Spring's AesBytesEncryptor: PBKDF2WithHmacSHA1 (1024 iterations, 256 bits), random 16-byte IV first. */
export function aesEncrypt(password: string, hexSalt: string, plain: Buffer, gcm = false): Buffer {
  const key = pbkdf2Sync(password, Buffer.from(hexSalt, "hex"), 1024, 32, "sha1");
  const iv = randomBytes(16);
  if (gcm) {
    const cipher = createCipheriv("aes-256-gcm", key, iv);
    return Buffer.concat([iv, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
  }
  const cipher = createCipheriv("aes-256-cbc", key, iv);
  return Buffer.concat([iv, cipher.update(plain), cipher.final()]);
}

/** `Encryptors.text(password, salt).encrypt(text)`: what `/encrypt` of a config server with `encrypt.key` returns. */
export function springTextEncrypt(password: string, text: string, hexSalt = "deadbeef"): string {
  return aesEncrypt(password, hexSalt, Buffer.from(text, "utf8")).toString("hex");
}

/** `RsaSecretEncryptor.encrypt(text)` with the public half of `key`. */
export function springRsaEncrypt(
  key: KeyObject,
  text: string,
  settings: { algorithm?: "DEFAULT" | "OAEP"; salt?: string; gcm?: boolean } = {},
): string {
  const random = randomBytes(16);
  const secret = publicEncrypt(
    settings.algorithm === "OAEP"
      ? { key, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: "sha1" }
      : { key, padding: constants.RSA_PKCS1_PADDING },
    random,
  );
  const salt = settings.salt ?? "deadbeef";
  const hexSalt = /^([0-9a-fA-F]{2})*$/.test(salt) ? salt : Buffer.from(salt).toString("hex");
  const length = Buffer.alloc(2);
  length.writeUInt16BE(secret.length);
  const data = aesEncrypt(random.toString("hex"), hexSalt, Buffer.from(text, "utf8"), settings.gcm);
  return Buffer.concat([length, secret, data]).toString("base64");
}

/**
 * The key `mytestkey` of spring-cloud-config's test key store
 * (spring-cloud-config-server/src/test/resources/server.jks; store password letmein, key password
 * changeme), exported with `keytool -importkeystore … -deststoretype PKCS12` and
 * `openssl pkcs12 -nodes -nocerts | openssl pkey`. A public test key, for test vectors only.
 */
export const SPRING_TEST_KEY_PEM = `
-----BEGIN PRIVATE KEY-----
MIIEwAIBADANBgkqhkiG9w0BAQEFAASCBKowggSmAgEAAoIBAQC4XBN1bUUTX+lp
fdkvCmd3NE5h9CRQZSFmVu6xcdkYE6g99iYr5yIL889hiBm7ZlELHrV3i/WvRIvH
bBUCAT3sNQXRRkklbv6bXc9oFdwaFyBbjWxB1XSjwWLuBI1GT7Vf2ODw85xxQ0Y/
T62J5K1J0qU/Tx+TSYUM9h/Pp5fnDM8ZOPZjduEeUPISCX4Cg0Uo6hzZm0L6zdOe
YFuvFqrFIgYr07rWpeq2eHNbOLKH1bNd4bHRTL6ZXwMLjHGUZIWoiGb3medHdP0/
v1qBoRpRpEP3nZn3d+VW7qCS/uY2lX93gCOg0GDUhaYzHc92qpF+ZNeIViIJAtzy
lPPaBDxXAgMBAAECggEBAJEwyo5XQOhSR8OxvgJjAjsJ8ZUJLjQ2gQhU/GS40Y05
pe0uVr+KpvCc0bzw77r7iGXmiGmeyx1+MUsb3quWiMrmsy8uWFrnwBJh3f8OACp3
/h68EP8D+XkhyyTCZvRxv9i9N+HrKVC197PSr0wC0UprX4KtcKORafxcNY9XYLUv
tDy4Ykm1y3Bd63yV2mEDEKB1Vsf63bNOAnSkX1rKEEOJjvntI40w9AUFCRGstl07
fBdeF38c3gHVrjfASzwwgv0daIvtR5gKr5HzhK8RfRYvr1NAyKTg8J+C0E4w/Zkk
YnJ4QpGq1AlandIw6WjaJ7Dgj4dLolQH/R0YUIoxn2ECgYEA8QwUHHikFWaMGfyx
x2UZK9uPRG7pYvGuriSc6WNtWpv4iykb8My6ub4CIu+mFnuWOXCXK/seR/AQWO41
/y//1QtDqRq4e38bFRtSY5gHB0IrNw+fDoM7LRqquEJZyJDjxS97onrccGqHhYGu
swE/sibZ22L7j0mGEAYFHK4T3NECgYEAw8vHMlfxW8ZncXavi4czj4GN0WlkYHqM
VPRTYCBVcwgQnRBCFNBdjYEYQeTSHLSPn4eC3S+finF6q1ZrcAYa60hvkqZTk9za
useu7JzXFibx1WTyI+u+ybjbqg1fBG4T9RUt3FaJ+vVEF6v9Qa36eKzJ/Vygi7JR
MQf5P0EoMKcCgYEAiHGm3Krpbne6rGceltjCU9IXmcwSbgCSOV7eNzohx11sZhFi
EH9C3ysP+IihAi74zRDPcYTXEi9wgXZtuEKKVSToKsvGS5maUetCSr/ekpxA7Az6
ovNjxtdGdcCRI/foBlEnccSMDVIv3kGXCxqU3JojTY0NCoG60k0mDaL3+VECgYEA
pdxRIR+IcUMwS9jLunnMvstztKsAAg6uJCVZH7wkRq7VTAgCwpkENyPdxawuJWz7
oZtsyyxVjTS2QsCRgLNbSGbzRRqrAD39+G3Bi+UM+1IAWNILoUxKMZ3sTzDGhf0t
4NaRI+8XMcVlalwizOmxnVpaPcuioNRsnQlxJhlvD08CgYEApHNVcBMaKpoWI8TR
fc4cMbUUvUQJDlqwJ6AxVOUe+8EJ3tA+MujhNiwCuup/ZopKQyTTPK6Aem+WFJyn
6eF+BK7XXB/8onGnlLbpy5cqVZjCFfqgzda1PEYdsD0qztikHcjJ79NoADhBQ2n8
hqb3eZciIe9bcuy1yJ1H4U+JT14=
-----END PRIVATE KEY-----
`.trimStart();
