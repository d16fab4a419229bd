import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { TidelineError } from '@tideline/contracts';

/** Bytes of an AES-256 key. */
export const REGISTRATION_KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const FORMAT = 'v1';

/**
 * A stored registration could not be decrypted: wrong or missing key, tampered record, or a
 * record stored under another cluster's name. Names the cluster and the key id of the record,
 * never the plaintext or a key.
 */
export class RegistrationDecryptError extends TidelineError {
  override readonly name = 'RegistrationDecryptError';
  constructor(
    readonly cluster: string,
    readonly reason: string,
  ) {
    super('INTERNAL', `the stored registration of cluster ${cluster} cannot be decrypted: ${reason}`);
  }
}

/**
 * Parses a key given as base64 (standard or URL alphabet) or hex; undefined when it is neither or
 * is not 32 bytes.
 */
export function parseRegistrationKey(text: string): Buffer | undefined {
  const value = text.trim();
  if (/^[0-9a-fA-F]{64}$/.test(value)) return Buffer.from(value, 'hex');
  if (/^[A-Za-z0-9+/_-]{43}=?$/.test(value)) {
    const key = Buffer.from(value.replaceAll('-', '+').replaceAll('_', '/'), 'base64');
    if (key.length === REGISTRATION_KEY_BYTES) return key;
  }
  return undefined;
}

/** The public id of a key (8 hex digits of a hash of it): tells which key sealed a record. */
export function registrationKeyId(key: Buffer): string {
  return createHash('sha256').update('tideline-registration-key-id:').update(key).digest('hex').slice(0, 8);
}

/**
 * AES-256-GCM for stored registrations. A sealed record reads
 * `v1.<key id>.<iv>.<ciphertext>.<tag>` (base64url parts): a random 96-bit IV per write, the
 * cluster name as additional authenticated data (a record copied under another name is refused),
 * and the id of the key that sealed it, so a previous key still opens its records after rotation.
 */
export class RegistrationCipher {
  private readonly keys = new Map<string, Buffer>();
  readonly currentKeyId: string;

  constructor(current: Buffer, previous?: Buffer) {
    for (const key of [current, previous]) {
      if (key && key.length !== REGISTRATION_KEY_BYTES)
        throw new Error(`a registration key has ${REGISTRATION_KEY_BYTES} bytes`);
    }
    this.currentKeyId = registrationKeyId(current);
    this.keys.set(this.currentKeyId, current);
    if (previous) {
      const id = registrationKeyId(previous);
      if (!this.keys.has(id)) this.keys.set(id, previous);
    }
  }

  seal(cluster: string, plaintext: string): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.keys.get(this.currentKeyId)!, iv, {
      authTagLength: TAG_BYTES,
    });
    cipher.setAAD(Buffer.from(cluster, 'utf8'));
    const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    const parts = [iv, ciphertext, cipher.getAuthTag()].map((b) => b.toString('base64url'));
    return [FORMAT, this.currentKeyId, ...parts].join('.');
  }

  /** The key id a sealed record names (undefined when it is not a sealed record). */
  keyIdOf(sealed: string): string | undefined {
    const parts = sealed.split('.');
    return parts.length === 5 && parts[0] === FORMAT ? parts[1] : undefined;
  }

  open(cluster: string, sealed: string): string {
    const parts = sealed.split('.');
    if (parts.length !== 5 || parts[0] !== FORMAT)
      throw new RegistrationDecryptError(cluster, 'not a sealed record');
    const [, keyId, ivText, ciphertextText, tagText] = parts as [string, string, string, string, string];
    const key = this.keys.get(keyId);
    if (!key)
      throw new RegistrationDecryptError(
        cluster,
        `sealed with key ${keyId}, which is neither the current nor the previous key`,
      );
    const iv = Buffer.from(ivText, 'base64url');
    const tag = Buffer.from(tagText, 'base64url');
    if (iv.length !== IV_BYTES || tag.length !== TAG_BYTES)
      throw new RegistrationDecryptError(cluster, 'not a sealed record');
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
      decipher.setAAD(Buffer.from(cluster, 'utf8'));
      decipher.setAuthTag(tag);
      return Buffer.concat([
        decipher.update(Buffer.from(ciphertextText, 'base64url')),
        decipher.final(),
      ]).toString('utf8');
    } catch {
      throw new RegistrationDecryptError(
        cluster,
        `authentication failed with key ${keyId} (tampered, stored under another name, or another key with this id)`,
      );
    }
  }
}
