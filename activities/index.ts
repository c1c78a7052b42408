// All activities the worker registers. Workflows import only the type.
import { batchStageActivities } from './batch-stage';
import { checkpointDownloadActivities } from './checkpoint-downloads';
import { checkpointServerActivities } from './checkpoint-servers';
import type { ActivityDeps } from './context';
import { datasetActivities } from './datasets';
import { endpointActivities } from './endpoints';
import { evaluationActivities } from './evaluation';
import { fineTuneJobOwnerActivities } from './fine-tune-job-owner';
import { fineTuneActivities } from './fine-tuning';
import { inferenceActivities } from './inference';
import { reviewActivities } from './review';
import { selfGuideActivities } from './selfguide';
import { semievolActivities } from './semievol';
import { servingActivities } from './serving';
import { shardListActivities } from './shard-lists';

export function createActivities(deps: ActivityDeps) {
  const semievol = semievolActivities(deps);
  const selfGuide = selfGuideActivities(deps);
  const inference = inferenceActivities(deps);
  return {
    ...datasetActivities(deps),
    ...inference,
    ...evaluationActivities(deps),
    ...fineTuneActivities(deps),
    ...fineTuneJobOwnerActivities(),
    ...selfGuide,
    ...semievol,
    ...reviewActivities(deps),
    ...batchStageActivities(deps, {
      collaborateOnShard: semievol.collaborateOnShard,
      justifyShard: semievol.justifyShard,
      generateInputRound: selfGuide.generateInputRound,
      sampleAnnotations: selfGuide.sampleAnnotations,
      answerQuestions: inference.answerQuestions,
      answerTestShard: selfGuide.answerTestShard,
    }),
    ...servingActivities(deps),
    ...shardListActivities(deps),
    ...endpointActivities(deps),
    ...checkpointDownloadActivities(deps),
    ...checkpointServerActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
