// Uploaded files, one store per provider API.
import type { IdMinter } from './hashing';

export interface StoredFile {
  id: string;
  filename: string;
  purpose: string;
  bytes: number;
  /** Milliseconds since the epoch. */
  createdAt: number;
  content: string;
}

export class FileStore {
  private readonly files = new Map<string, StoredFile>();

  /** `idStyle` mirrors each provider: OpenAI `file-<alnum>`, Together `file-<uuid>`. */
  constructor(
    private readonly idStyle: 'openai' | 'together',
    private readonly ids: IdMinter,
  ) {}

  create(filename: string, purpose: string, content: string): StoredFile {
    const body = this.ids.next(`file:${this.idStyle}:${filename}:${purpose}:${content}`);
    const id = `file-${this.idStyle === 'openai' ? body : uuidShaped(body)}`;
    const file = { id, filename, purpose, bytes: Buffer.byteLength(content), createdAt: Date.now(), content };
    this.files.set(id, file);
    return file;
  }

  get(id: string): StoredFile | undefined {
    return this.files.get(id);
  }

  /** Newest first. */
  list(): StoredFile[] {
    return [...this.files.values()].reverse();
  }

  delete(id: string): boolean {
    return this.files.delete(id);
  }
}

/** Together's ids look like UUIDs: the same 24-character body, laid out 8-4-4-4-4 in lowercase hex-like groups. */
export function uuidShaped(body: string): string {
  const hex = Buffer.from(body).toString('hex').slice(0, 32);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}
