// Every SELF-GUIDE activity: data stages 1-3, evaluation, and the fine-tune checkpoints the campaign's epochs share.
import type { ActivityDeps } from './context';
import { fineTuneCheckpointActivities } from './fine-tune-checkpoints';
import { selfGuideDataActivities } from './selfguide-data';
import { selfGuideEvaluationActivities } from './selfguide-evaluation';

export function selfGuideActivities(deps: ActivityDeps) {
  return {
    ...selfGuideDataActivities(deps),
    ...selfGuideEvaluationActivities(deps),
    ...fineTuneCheckpointActivities(deps),
  };
}
