// Every workflow the worker registers.
export { evaluateModel } from './evaluate';
export { evaluationRun } from './evaluation-run';
export { fineTune } from './fine-tune';
export { fineTuneJobOwner } from './fine-tune-job';
export { semievolRun } from './semievol';
export { collaborate, justify, propagateInContext } from './semievol-stages';
export { selfGuideRun } from './selfguide';
export { selfGuideEvaluate } from './selfguide-evaluate';
export { selfGuideCampaign, selfGuideCampaignBranch } from './selfguide-campaign';
