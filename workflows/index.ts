// Every workflow the worker registers.
export { evaluateModel } from './evaluate';
export { evaluationRun } from './evaluation-run';
export { fineTune } from './fine-tune';
