// Every workflow the worker registers, and how each moves between worker versions when a versioned worker runs it
// (README, "Changing a workflow safely"): a method run, a campaign and everything that waits on a fine-tune job may
// run for hours, so it stays on the code it started with (pinned); a stage that only makes model calls is short and
// moves to the current version at its next workflow task (auto-upgrade), so a change to it still needs patched().
import type { VersioningBehavior } from '@temporalio/common';
import { setWorkflowOptions, workflowInfo, type Workflow } from '@temporalio/workflow';
import { evaluateModel } from './evaluate';
import { evaluationRun } from './evaluation-run';
import { fineTune } from './fine-tune';
import { fineTuneJobOwner } from './fine-tune-job';
import { semievolRun } from './semievol';
import { collaborate, justify, propagateInContext } from './semievol-stages';
import { selfGuideRun } from './selfguide';
import { selfGuideEvaluate } from './selfguide-evaluate';
import { selfGuideCampaign, selfGuideCampaignBranch } from './selfguide-campaign';

const long: Workflow[] = [
  evaluationRun,
  semievolRun,
  selfGuideRun,
  selfGuideCampaign,
  selfGuideCampaignBranch,
  fineTune,
  fineTuneJobOwner,
];
const short: Workflow[] = [evaluateModel, collaborate, justify, propagateInContext, selfGuideEvaluate];
/**
 * Declared on a worker of a deployment only (every worker has a build id, only a versioned one a deployment name): an
 * unversioned worker fails every workflow task that names a behaviour.
 */
const onVersionedWorkers = (versioningBehavior: VersioningBehavior) => () =>
  workflowInfo().currentDeploymentVersion?.deploymentName ? { versioningBehavior } : {};
for (const workflow of long) setWorkflowOptions(onVersionedWorkers('PINNED'), workflow);
for (const workflow of short) setWorkflowOptions(onVersionedWorkers('AUTO_UPGRADE'), workflow);

export {
  evaluateModel,
  evaluationRun,
  fineTune,
  fineTuneJobOwner,
  semievolRun,
  collaborate,
  justify,
  propagateInContext,
  selfGuideRun,
  selfGuideEvaluate,
  selfGuideCampaign,
  selfGuideCampaignBranch,
};
