// Optional encryption of every workflow payload (arguments, results, memo, heartbeat details) with AES-256-GCM.
// The key comes from the environment of the worker and the CLI; Temporal's server and UI only see ciphertext.
import { METADATA_ENCODING_KEY, type Payload, type PayloadCodec } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import type { DataConverter } from '@temporalio/common';

const encoding = 'binary/encrypted';
const keyIdKey = 'encryption-key-id';

export class EncryptionCodec implements PayloadCodec {
  private readonly keyId: string;

  constructor(private readonly key: Buffer) {
    if (key.length !== 32)
      throw new Error('FLT_PAYLOAD_KEY must be 32 bytes, base64-encoded (e.g. `openssl rand -base64 32`).');
    // Names the key without revealing it, so a payload encrypted under another key is reported as such.
    this.keyId = createHash('sha256').update(key).digest('hex').slice(0, 16);
  }

  async encode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', this.key, iv);
      const plain = temporal.api.common.v1.Payload.encode(payload).finish();
      const data = Buffer.concat([iv, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
      return {
        metadata: { [METADATA_ENCODING_KEY]: Buffer.from(encoding), [keyIdKey]: Buffer.from(this.keyId) },
        data,
      };
    });
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => {
      if (Buffer.from(payload.metadata?.[METADATA_ENCODING_KEY] ?? []).toString() !== encoding) return payload;
      const keyId = Buffer.from(payload.metadata?.[keyIdKey] ?? []).toString();
      if (keyId !== this.keyId)
        throw new Error(`Payload was encrypted with key ${keyId}, but FLT_PAYLOAD_KEY is key ${this.keyId}.`);
      const data = Buffer.from(payload.data ?? []);
      const decipher = createDecipheriv('aes-256-gcm', this.key, data.subarray(0, 12));
      decipher.setAuthTag(data.subarray(data.length - 16));
      const plain = Buffer.concat([decipher.update(data.subarray(12, data.length - 16)), decipher.final()]);
      return temporal.api.common.v1.Payload.decode(plain);
    });
  }
}

/** The data converter for worker and client: encrypting when FLT_PAYLOAD_KEY is set, Temporal's default otherwise. */
export function dataConverter(env: NodeJS.ProcessEnv = process.env): DataConverter | undefined {
  const key = env.FLT_PAYLOAD_KEY;
  return key ? { payloadCodecs: [new EncryptionCodec(Buffer.from(key, 'base64'))] } : undefined;
}
