import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  parseRegistrationKey,
  RegistrationCipher,
  RegistrationDecryptError,
  registrationKeyId,
} from './cipher.ts';

const KUBECONFIG = 'users: [{name: u, user: {token: secret-token-1234}}]';

function flipByteOfPart(sealed: string, part: number): string {
  const parts = sealed.split('.');
  const bytes = Buffer.from(parts[part]!, 'base64url');
  bytes[0] = bytes[0]! ^ 0x01;
  parts[part] = bytes.toString('base64url');
  return parts.join('.');
}

function decryptError(run: () => unknown): RegistrationDecryptError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(RegistrationDecryptError);
    return error as RegistrationDecryptError;
  }
  throw new Error('expected a RegistrationDecryptError');
}

describe('RegistrationCipher', () => {
  const key = randomBytes(32);

  it('cipher - a sealed registration opens with its key and cluster name, and holds no plaintext', () => {
    const cipher = new RegistrationCipher(key);
    const sealed = cipher.seal('alpha', KUBECONFIG);
    expect(sealed.startsWith(`v1.${registrationKeyId(key)}.`)).toBe(true);
    expect(sealed).not.toContain('secret-token');
    expect(Buffer.from(sealed.split('.')[3]!, 'base64url').toString('latin1')).not.toContain('secret-token');
    expect(cipher.open('alpha', sealed)).toBe(KUBECONFIG);
  });

  it('cipher - every write takes a fresh 96-bit IV: the same registration never seals alike', () => {
    const cipher = new RegistrationCipher(key);
    const a = cipher.seal('alpha', KUBECONFIG).split('.');
    const b = cipher.seal('alpha', KUBECONFIG).split('.');
    expect(Buffer.from(a[2]!, 'base64url')).toHaveLength(12);
    expect(a[2]).not.toBe(b[2]);
    expect(a[3]).not.toBe(b[3]);
  });

  it.each([
    ['iv', 2],
    ['ciphertext', 3],
    ['tag', 4],
  ])('cipher - a tampered %s is refused', (_part, index) => {
    const cipher = new RegistrationCipher(key);
    const tampered = flipByteOfPart(cipher.seal('alpha', KUBECONFIG), index);
    const error = decryptError(() => cipher.open('alpha', tampered));
    expect(error.cluster).toBe('alpha');
    expect(error.code).toBe('INTERNAL');
    expect(error.message).toContain('cluster alpha');
    expect(error.message).not.toContain('secret-token');
  });

  it('cipher - a record copied under another cluster name is refused (the name is authenticated data)', () => {
    const cipher = new RegistrationCipher(key);
    const sealed = cipher.seal('alpha', KUBECONFIG);
    const error = decryptError(() => cipher.open('beta', sealed));
    expect(error.message).toMatch(/cluster beta cannot be decrypted: authentication failed/);
  });

  it('cipher - a record sealed with another key is refused, naming the cluster and key id but no key or plaintext', () => {
    const other = randomBytes(32);
    const sealed = new RegistrationCipher(other).seal('alpha', KUBECONFIG);
    const error = decryptError(() => new RegistrationCipher(key).open('alpha', sealed));
    expect(error.message).toBe(
      `the stored registration of cluster alpha cannot be decrypted: sealed with key ${registrationKeyId(other)}, which is neither the current nor the previous key`,
    );
    for (const secret of [key, other])
      for (const encoding of ['hex', 'base64', 'base64url'] as const)
        expect(error.message).not.toContain(secret.toString(encoding));
  });

  it('cipher - a forged key id over another key is refused by authentication', () => {
    const other = randomBytes(32);
    const parts = new RegistrationCipher(other).seal('alpha', KUBECONFIG).split('.');
    parts[1] = registrationKeyId(key);
    decryptError(() => new RegistrationCipher(key).open('alpha', parts.join('.')));
  });

  it('cipher - rotation: the previous key still opens its records; new records use the current key', () => {
    const previous = randomBytes(32);
    const old = new RegistrationCipher(previous).seal('alpha', KUBECONFIG);
    const rotated = new RegistrationCipher(key, previous);
    expect(rotated.open('alpha', old)).toBe(KUBECONFIG);
    expect(rotated.keyIdOf(old)).toBe(registrationKeyId(previous));
    const fresh = rotated.seal('alpha', KUBECONFIG);
    expect(rotated.keyIdOf(fresh)).toBe(registrationKeyId(key));
    expect(rotated.currentKeyId).toBe(registrationKeyId(key));
    // Once the previous key is dropped, its records no longer open.
    decryptError(() => new RegistrationCipher(key).open('alpha', old));
  });

  it('cipher - something that is not a sealed record is refused clearly', () => {
    const cipher = new RegistrationCipher(key);
    expect(decryptError(() => cipher.open('alpha', KUBECONFIG)).reason).toBe('not a sealed record');
  });
});

describe('parseRegistrationKey', () => {
  const key = randomBytes(32);

  it('keys - 32 bytes in hex, base64 or base64url are accepted', () => {
    expect(parseRegistrationKey(key.toString('hex'))).toEqual(key);
    expect(parseRegistrationKey(key.toString('base64'))).toEqual(key);
    expect(parseRegistrationKey(key.toString('base64url'))).toEqual(key);
  });

  it('keys - a key of another length or a passphrase is refused', () => {
    expect(parseRegistrationKey(randomBytes(16).toString('base64'))).toBeUndefined();
    expect(parseRegistrationKey(randomBytes(31).toString('hex'))).toBeUndefined();
    expect(parseRegistrationKey('correct horse battery staple correct horse!!')).toBeUndefined();
  });
});
