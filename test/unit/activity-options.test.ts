// Every activity preset's retry policy: transient failures retried without end, deterministic ones never.
import { InvalidConfig, InvalidInput, MissingArtifact } from '../../core/errors';
import {
  adapterServingStep,
  dataStep,
  fineTuneJobCalls,
  fineTuneWait,
  shardModelCalls,
  stageModelCalls,
  stageStep,
} from '../../workflows/activity-options';

const presets = {
  dataStep,
  stageStep,
  shardModelCalls,
  stageModelCalls,
  fineTuneJobCalls,
  fineTuneWait: fineTuneWait(30),
  adapterServingStep,
};

describe('activity presets', () => {
  it.each(Object.entries(presets))('%s fails at once on a deterministic failure', (_, options) => {
    expect(options.retry?.nonRetryableErrorTypes).toEqual(
      expect.arrayContaining([InvalidInput, MissingArtifact, InvalidConfig]),
    );
  });

  it.each(Object.entries(presets))('%s retries anything else without a limit', (_, options) => {
    expect(options.retry?.maximumAttempts).toBe(Number.POSITIVE_INFINITY);
  });

  it('keeps the timeouts and backoff of each kind of work', () => {
    const summary = (name: keyof typeof presets) => {
      const { startToCloseTimeout, heartbeatTimeout, retry } = presets[name];
      return [startToCloseTimeout, heartbeatTimeout, retry?.initialInterval, retry?.maximumInterval];
    };
    expect(summary('dataStep')).toEqual(['10 minutes', undefined, '1 second', '1 minute']);
    expect(summary('stageStep')).toEqual(['30 minutes', undefined, '1 second', '1 minute']);
    expect(summary('shardModelCalls')).toEqual(['2 hours', '5 minutes', '1 second', '2 minutes']);
    expect(summary('stageModelCalls')).toEqual(['4 hours', '5 minutes', '1 second', '2 minutes']);
    expect(summary('fineTuneJobCalls')).toEqual(['10 minutes', undefined, '2 seconds', '2 minutes']);
    expect(summary('fineTuneWait')).toEqual(['7 days', '90 seconds', '5 seconds', '5 minutes']);
  });

  it('gives a fine-tune wait at least a minute between heartbeats', () => {
    expect(fineTuneWait(5).heartbeatTimeout).toBe('60 seconds');
  });
});
