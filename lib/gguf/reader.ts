// Reads a GGUF file's header: metadata and tensor infos, never the tensor data, so multi-gigabyte models read fast.
import * as fs from 'node:fs';
import {
  alignUp,
  defaultAlignment,
  ggufMagic,
  GgufValueType,
  type GgufEntry,
  type GgufTensorInfo,
  type GgufValue,
} from './format';

export interface GgufHeader {
  version: number;
  metadata: Map<string, GgufEntry>;
  tensors: GgufTensorInfo[];
  alignment: number;
  /** Absolute file offset where tensor data begins. */
  dataOffset: number;
}

const chunkBytes = 1 << 20;

/** Sequential little-endian reads over a file descriptor, pulling more of the file in as needed. */
class FileCursor {
  private buffer = Buffer.alloc(0);
  /** File offset of buffer[0]. */
  private bufferStart = 0;
  /** File offset of the next read. */
  position = 0;

  constructor(
    private readonly fd: number,
    private readonly fileSize: number,
    private readonly filePath: string,
  ) {}

  private take(length: number): Buffer {
    const end = this.position + length;
    if (end > this.fileSize) throw new Error(`GGUF ${this.filePath}: truncated header at byte ${this.position}.`);
    if (end > this.bufferStart + this.buffer.length) {
      const size = Math.max(length, chunkBytes);
      this.buffer = Buffer.alloc(Math.min(size, this.fileSize - this.position));
      fs.readSync(this.fd, this.buffer, 0, this.buffer.length, this.position);
      this.bufferStart = this.position;
    }
    const from = this.position - this.bufferStart;
    this.position = end;
    return this.buffer.subarray(from, from + length);
  }

  u8 = () => this.take(1).readUInt8(0);
  i8 = () => this.take(1).readInt8(0);
  u16 = () => this.take(2).readUInt16LE(0);
  i16 = () => this.take(2).readInt16LE(0);
  u32 = () => this.take(4).readUInt32LE(0);
  i32 = () => this.take(4).readInt32LE(0);
  f32 = () => this.take(4).readFloatLE(0);
  f64 = () => this.take(8).readDoubleLE(0);
  u64 = () => this.take(8).readBigUInt64LE(0);
  i64 = () => this.take(8).readBigInt64LE(0);

  /** A uint64 that must fit a JS number (counts, lengths, dims, offsets). */
  count(): number {
    const value = this.u64();
    if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw new Error(`GGUF ${this.filePath}: implausible count ${value}.`);
    return Number(value);
  }

  string(): string {
    return this.take(this.count()).toString('utf8');
  }
}

function readArray(cursor: FileCursor): { itemType: GgufValueType; items: GgufValue[] } {
  const itemType = cursor.u32() as GgufValueType;
  const length = cursor.count();
  const items: GgufValue[] = [];
  for (let i = 0; i < length; i++) items.push(readValue(cursor, itemType));
  return { itemType, items };
}

function readValue(cursor: FileCursor, type: GgufValueType): GgufValue {
  switch (type) {
    case GgufValueType.Uint8:
      return cursor.u8();
    case GgufValueType.Int8:
      return cursor.i8();
    case GgufValueType.Uint16:
      return cursor.u16();
    case GgufValueType.Int16:
      return cursor.i16();
    case GgufValueType.Uint32:
      return cursor.u32();
    case GgufValueType.Int32:
      return cursor.i32();
    case GgufValueType.Float32:
      return cursor.f32();
    case GgufValueType.Bool:
      return cursor.u8() !== 0;
    case GgufValueType.String:
      return cursor.string();
    case GgufValueType.Uint64:
      return cursor.u64();
    case GgufValueType.Int64:
      return cursor.i64();
    case GgufValueType.Float64:
      return cursor.f64();
    case GgufValueType.Array:
      return readArray(cursor).items;
    default:
      throw new Error(`unknown GGUF value type ${String(type)}`);
  }
}

export function readGgufHeader(filePath: string): GgufHeader {
  const fd = fs.openSync(filePath, 'r');
  try {
    const cursor = new FileCursor(fd, fs.fstatSync(fd).size, filePath);
    if (cursor.u32() !== ggufMagic) throw new Error(`${filePath} is not a GGUF file (bad magic).`);
    const version = cursor.u32();
    if (version < 2) throw new Error(`GGUF ${filePath}: version ${version} is not supported (need 2 or later).`);
    const tensorCount = cursor.count();
    const entryCount = cursor.count();

    const metadata = new Map<string, GgufEntry>();
    for (let i = 0; i < entryCount; i++) {
      const key = cursor.string();
      const type = cursor.u32() as GgufValueType;
      if (type === GgufValueType.Array) {
        const { itemType, items } = readArray(cursor);
        metadata.set(key, { type, itemType, value: items });
      } else {
        metadata.set(key, { type, value: readValue(cursor, type) });
      }
    }

    const tensors: GgufTensorInfo[] = [];
    for (let i = 0; i < tensorCount; i++) {
      const name = cursor.string();
      const dimCount = cursor.u32();
      const dims: number[] = [];
      for (let d = 0; d < dimCount; d++) dims.push(cursor.count());
      tensors.push({ name, dims, ggmlType: cursor.u32(), offset: cursor.count() });
    }

    const alignmentEntry = metadata.get('general.alignment')?.value;
    const alignment = typeof alignmentEntry === 'number' ? alignmentEntry : defaultAlignment;
    return { version, metadata, tensors, alignment, dataOffset: alignUp(cursor.position, alignment) };
  } finally {
    fs.closeSync(fd);
  }
}

/** A metadata value that must be a string; throws naming the key otherwise. */
export function metadataString(header: GgufHeader, key: string): string {
  const value = header.metadata.get(key)?.value;
  if (typeof value !== 'string') throw new Error(`GGUF metadata "${key}" is missing or not a string.`);
  return value;
}
