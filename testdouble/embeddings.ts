// Deterministic hashed bag-of-words embeddings: texts that share words land near each other.
import { fnv1a } from './hashing';

export const embeddingDimensions = 256;

export function hashedEmbedding(text: string): number[] {
  const vector = new Array<number>(embeddingDimensions).fill(0);
  const words = text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
  for (const word of words) vector[fnv1a(word) % embeddingDimensions] += 1;
  const norm = Math.hypot(...vector);
  // A text without words still gets a unit vector, so cosine similarity never divides by zero.
  if (norm === 0) vector[0] = 1;
  return norm === 0 ? vector : vector.map((value) => value / norm);
}

/** OpenAI's `encoding_format: "base64"`: little-endian float32s, base64-encoded. */
export function toBase64(vector: number[]): string {
  const floats = Float32Array.from(vector);
  return Buffer.from(floats.buffer, floats.byteOffset, floats.byteLength).toString('base64');
}
