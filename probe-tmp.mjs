import { getLlama } from 'node-llama-cpp';
const llama = await getLlama({ gpu: false, build: 'never' });
const model = await llama.loadModel({ modelPath: '/work/shared/models/llama-2-tiny-random.gguf' });
const ctx = await model.createContext({ contextSize: 512, sequences: 2 });
const toks = model.tokenize('hello world this is a prompt');
for (const opts of [{temperature:1, seed:1}, {temperature:1, seed:1, topK:0, topP:1, minP:0}, {temperature:0}, {temperature:0, topK:0, topP:1}]) {
  for (const meta of [{}, {confidence:true}]) {
  const seq = ctx.getSequence();
  const t0 = performance.now(); let i=0;
  for await (const out of seq.evaluateWithMetadata(toks, meta, opts)) { if (++i>=20) break; }
  console.log(JSON.stringify(opts), JSON.stringify(meta), ((performance.now()-t0)/20).toFixed(1), 'ms/token');
  await seq.dispose();
  }
}
await model.dispose(); await llama.dispose();
