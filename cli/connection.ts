// The CLI's Temporal client, and the error type whose message is shown to the user as it is.
import type * as TemporalClient from '@temporalio/client';
import type * as PayloadCodec from '../lib/payload-codec';
import { temporalConnectConfig } from '../lib/temporal';

/** An error meant for the person at the terminal: one sentence saying what is wrong and what to do. */
export class UserError extends Error {}

/**
 * The Temporal client library, loaded on first use: it and the payload codec's protobuf types are most of a second of
 * start-up, which a command that imports this file only for UserError (init) never needs.
 */
export function temporalClient(): typeof TemporalClient {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require('@temporalio/client');
}

export async function connect(): Promise<TemporalClient.Client> {
  const { Client, Connection } = temporalClient();
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { dataConverter } = require('../lib/payload-codec') as typeof PayloadCodec;
  const { connectionOptions, namespace } = temporalConnectConfig();
  try {
    const connection = await Connection.connect({ ...connectionOptions, connectTimeout: '5 seconds' });
    return new Client({ connection, namespace, dataConverter: dataConverter() });
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new UserError(
      `Cannot reach Temporal at ${connectionOptions.address} (${reason}); ` +
        'start a local server with `npm run server` or set TEMPORAL_ADDRESS.',
    );
  }
}
