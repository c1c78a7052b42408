// The worker: hosts every workflow and activity. Configuration comes from its environment (see README).
import { NativeConnection, Worker } from '@temporalio/worker';
import { createActivities } from './activities';
import { defaultActivityDeps } from './activities/context';
import { dataConverter } from './lib/payload-codec';
import { taskQueue, temporalConnectConfig } from './lib/temporal';

async function main(): Promise<void> {
  const { connectionOptions, namespace } = temporalConnectConfig();
  const connection = await NativeConnection.connect(connectionOptions);
  const deps = defaultActivityDeps();
  const worker = await Worker.create({
    connection,
    namespace,
    taskQueue: taskQueue(),
    workflowsPath: require.resolve('./workflows'),
    activities: createActivities(deps),
    dataConverter: dataConverter(),
    // Model calls are throttled per provider by the gateway; this caps activity slots (shards, polls) per worker.
    maxConcurrentActivityTaskExecutions: Number(process.env.FLT_MAX_CONCURRENT_ACTIVITIES ?? 32),
    shutdownGraceTime: '10 seconds',
  });
  console.log(`worker: polling task queue "${taskQueue()}" in namespace "${namespace}" at ${connectionOptions.address}`);
  // worker.run() returns after SIGINT/SIGTERM once in-flight tasks have drained (or the grace time has passed).
  try {
    await worker.run();
  } finally {
    await deps.gateway.close();
    await connection.close();
  }
}

main().catch((err) => {
  console.error(`worker: ${err?.message ?? err}`);
  process.exit(1);
});
