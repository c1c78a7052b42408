// The checkpoints Together lets a client download: one tar.zst archive per job and checkpoint (a PEFT adapter whose
// weights are seeded by the job, so two jobs' archives differ), built with the system's tar and zstd as Together's
// own are, and a record of every byte range the double served of each, for tests to count downloads by.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { textSeededRandom } from './hashing';

/** Adapter weights: enough bytes that a download cut midway has a real half to resume from. */
const weightBytes = 256 * 1024;

export interface ServedRange {
  /** The first byte sent (0 unless the client asked for a range). */
  from: number;
  /** Bytes written to the connection. */
  bytes: number;
  /** Whether the response ran to its end; false when it broke midway or the client went away. */
  complete: boolean;
}

export interface CheckpointArchive {
  jobId: string;
  /** `adapter`, `merged` or `step-N`. */
  key: string;
  bytes: Buffer;
  /** sha256 of each file in the archive, by name. */
  files: Record<string, string>;
  served: ServedRange[];
}

const sha256 = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');

export class CheckpointArchives {
  private readonly archives = new Map<string, CheckpointArchive>();

  /**
   * The archive of `key` for `jobId`, built the first time it is asked for: an adapter's files, or a merged model's
   * (`merged`) under the names Hugging Face gives them.
   */
  get(jobId: string, key: string, baseModel: string, merged: boolean): CheckpointArchive {
    const id = `${jobId}/${key}`;
    const existing = this.archives.get(id);
    if (existing) return existing;
    const random = textSeededRandom(`checkpoint|${id}`);
    const weights = Buffer.from(Array.from({ length: weightBytes }, () => Math.floor(random() * 256)));
    const config = JSON.stringify(
      merged
        ? { architectures: ['LlamaForCausalLM'], _name_or_path: baseModel }
        : {
            peft_type: 'LORA',
            base_model_name_or_path: baseModel,
            r: 8,
            lora_alpha: 16,
            target_modules: ['q_proj', 'k_proj', 'v_proj', 'o_proj'],
            task_type: 'CAUSAL_LM',
          },
    );
    const [configName, weightsName] = merged
      ? ['config.json', 'model.safetensors']
      : ['adapter_config.json', 'adapter_model.safetensors'];
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'double-checkpoint-'));
    try {
      fs.writeFileSync(path.join(dir, configName), config);
      fs.writeFileSync(path.join(dir, weightsName), weights);
      const bytes = execFileSync('tar', ['--zstd', '-cf', '-', '-C', dir, configName, weightsName]);
      const files = { [configName]: sha256(config), [weightsName]: sha256(weights) };
      const archive: CheckpointArchive = { jobId, key, bytes, files, served: [] };
      this.archives.set(id, archive);
      return archive;
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }

  find(jobId: string, key: string): CheckpointArchive | undefined {
    return this.archives.get(`${jobId}/${key}`);
  }

  list(): CheckpointArchive[] {
    return [...this.archives.values()];
  }
}
