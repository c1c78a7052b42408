const t0 = Date.now();
import('../../activities').then(async () => {
  const t1 = Date.now();
  await import('@temporalio/worker');
  const t2 = Date.now();
  const { bundleWorkflowCode } = await import('@temporalio/worker');
  const b = await bundleWorkflowCode({ workflowsPath: require.resolve('../../workflows'), logger: { info() {}, warn() {}, error() {}, debug() {}, trace() {}, log() {} } as any });
  const t3 = Date.now();
  console.log({ activities: t1 - t0, worker: t2 - t1, bundle: t3 - t2, size: b.code.length, uptime: process.uptime() });
});
