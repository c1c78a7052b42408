// Serialises a GGUF v3 file: header, metadata, tensor infos, then F32 tensor data, each tensor aligned.
import {
  alignUp,
  defaultAlignment,
  ggmlTypeF32,
  ggufMagic,
  ggufVersion,
  GgufValueType,
  type GgufEntry,
  type GgufValue,
} from './format';

export interface F32Tensor {
  name: string;
  /** ggml order (dims[0] is the row length); the product must equal data.length. */
  dims: number[];
  data: Float32Array;
}

/** Collects little-endian fields into a growing list of small buffers. */
class ByteSink {
  readonly parts: Buffer[] = [];
  length = 0;

  push(part: Buffer): void {
    this.parts.push(part);
    this.length += part.length;
  }

  private fixed(size: number, write: (buffer: Buffer) => void): void {
    const buffer = Buffer.alloc(size);
    write(buffer);
    this.push(buffer);
  }

  u8 = (v: number) => this.fixed(1, (b) => b.writeUInt8(v));
  i8 = (v: number) => this.fixed(1, (b) => b.writeInt8(v));
  u16 = (v: number) => this.fixed(2, (b) => b.writeUInt16LE(v));
  i16 = (v: number) => this.fixed(2, (b) => b.writeInt16LE(v));
  u32 = (v: number) => this.fixed(4, (b) => b.writeUInt32LE(v));
  i32 = (v: number) => this.fixed(4, (b) => b.writeInt32LE(v));
  f32 = (v: number) => this.fixed(4, (b) => b.writeFloatLE(v));
  f64 = (v: number) => this.fixed(8, (b) => b.writeDoubleLE(v));
  u64 = (v: number | bigint) => this.fixed(8, (b) => b.writeBigUInt64LE(BigInt(v)));
  i64 = (v: number | bigint) => this.fixed(8, (b) => b.writeBigInt64LE(BigInt(v)));

  string(value: string): void {
    const bytes = Buffer.from(value, 'utf8');
    this.u64(bytes.length);
    this.push(bytes);
  }

  padTo(alignment: number): void {
    const padding = alignUp(this.length, alignment) - this.length;
    if (padding > 0) this.push(Buffer.alloc(padding));
  }
}

function checked<T extends GgufValue>(value: GgufValue, check: (v: GgufValue) => v is T, what: string): T {
  if (!check(value)) throw new Error(`GGUF writer: expected ${what}, got ${JSON.stringify(String(value))}.`);
  return value;
}
const isNumber = (v: GgufValue): v is number => typeof v === 'number';
const isInteger = (v: GgufValue): v is number | bigint => typeof v === 'bigint' || Number.isInteger(v);
const isBool = (v: GgufValue): v is boolean => typeof v === 'boolean';
const isString = (v: GgufValue): v is string => typeof v === 'string';
const isArray = (v: GgufValue): v is GgufValue[] => Array.isArray(v);

function writeValue(sink: ByteSink, type: GgufValueType, value: GgufValue, itemType?: GgufValueType): void {
  const int = () => checked(value, isInteger, 'an integer');
  switch (type) {
    case GgufValueType.Uint8:
      return sink.u8(Number(int()));
    case GgufValueType.Int8:
      return sink.i8(Number(int()));
    case GgufValueType.Uint16:
      return sink.u16(Number(int()));
    case GgufValueType.Int16:
      return sink.i16(Number(int()));
    case GgufValueType.Uint32:
      return sink.u32(Number(int()));
    case GgufValueType.Int32:
      return sink.i32(Number(int()));
    case GgufValueType.Float32:
      return sink.f32(checked(value, isNumber, 'a number'));
    case GgufValueType.Float64:
      return sink.f64(checked(value, isNumber, 'a number'));
    case GgufValueType.Uint64:
      return sink.u64(int());
    case GgufValueType.Int64:
      return sink.i64(int());
    case GgufValueType.Bool:
      return sink.u8(checked(value, isBool, 'a boolean') ? 1 : 0);
    case GgufValueType.String:
      return sink.string(checked(value, isString, 'a string'));
    case GgufValueType.Array: {
      const items = checked(value, isArray, 'an array');
      if (itemType === undefined) throw new Error('GGUF writer: an array entry needs its itemType.');
      sink.u32(itemType);
      sink.u64(items.length);
      for (const item of items) writeValue(sink, itemType, item);
      return;
    }
  }
}

/** The whole file as one buffer; metadata keys are written in the order given. */
export function encodeGguf(metadata: [string, GgufEntry][], tensors: F32Tensor[]): Buffer {
  const alignmentEntry = metadata.find(([key]) => key === 'general.alignment')?.[1].value;
  const alignment = typeof alignmentEntry === 'number' ? alignmentEntry : defaultAlignment;
  const sink = new ByteSink();
  sink.u32(ggufMagic);
  sink.u32(ggufVersion);
  sink.u64(tensors.length);
  sink.u64(metadata.length);
  for (const [key, entry] of metadata) {
    sink.string(key);
    sink.u32(entry.type);
    writeValue(sink, entry.type, entry.value, entry.itemType);
  }

  let offset = 0;
  for (const tensor of tensors) {
    const elements = tensor.dims.reduce((product, dim) => product * dim, 1);
    if (elements !== tensor.data.length)
      throw new Error(`GGUF writer: ${tensor.name} has ${tensor.data.length} values for dims [${tensor.dims}].`);
    sink.string(tensor.name);
    sink.u32(tensor.dims.length);
    for (const dim of tensor.dims) sink.u64(dim);
    sink.u32(ggmlTypeF32);
    sink.u64(offset);
    offset = alignUp(offset + tensor.data.byteLength, alignment);
  }

  for (const tensor of tensors) {
    sink.padTo(alignment);
    // Copy, so a view into a larger buffer or a big-endian host never leaks into the file.
    const bytes = Buffer.alloc(tensor.data.byteLength);
    tensor.data.forEach((value, i) => bytes.writeFloatLE(value, i * 4));
    sink.push(bytes);
  }
  return Buffer.concat(sink.parts);
}
