// Uploaded files, one store per provider API.
import { randomUUID } from 'node:crypto';
import { randomId } from './hashing';

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
  constructor(private readonly idStyle: 'openai' | 'together') {}

  create(filename: string, purpose: string, content: string): StoredFile {
    const id = `file-${this.idStyle === 'openai' ? randomId() : randomUUID()}`;
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
