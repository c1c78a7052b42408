// `flt run` opens each data file once: what a method's load returns feeds both prepare and estimate.
import fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { LocalArtifactStore } from '../../lib/artifacts';
import { loadRunConfig } from '../../lib/config-file';
import { methodOf } from '../../lib/methods';

const root = path.resolve(__dirname, '../..');
const demo = path.join(root, 'demo');
const examples = ['evaluate-fpb.yaml', 'semievol-fpb.yaml', 'selfguide-task190.yaml', 'selfguide-campaign.yaml'];

describe('flt run', () => {
  it.each(examples)('reads every data file of %s once for both prepare and estimate', async (name) => {
    const config = loadRunConfig(path.join(root, 'examples', name));
    const store = new LocalArtifactStore(fs.mkdtempSync(path.join(os.tmpdir(), 'flt-run-reads-')));
    const method = methodOf(config);
    const openFile = jest.spyOn(fs, 'openSync');
    try {
      // The steps of the `run` command in client.ts, in its order.
      const data = method.load(config);
      const prepared = await method.prepare(config, store, data);
      const estimate = method.estimate(config, data);
      expect(prepared.notes.length).toBeGreaterThan(0);
      expect(estimate.length).toBeGreaterThan(0);
      const dataReads = openFile.mock.calls.map(([file]) => String(file)).filter((file) => file.startsWith(demo));
      expect(dataReads.length).toBeGreaterThan(0);
      expect(dataReads).toEqual([...new Set(dataReads)]);
    } finally {
      openFile.mockRestore();
    }
  });
});
