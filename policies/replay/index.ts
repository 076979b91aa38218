/** Dry-run: replay captured routing traffic through a candidate policy and compare with a baseline. */
export { dryRun, type DryRunOptions } from './dry-run.js';
export { resolveDecider, baselineRef, storeLookup, type DeciderRef, type RevisionLookup } from './deciders.js';
export { arraySource, dbSource, jsonlSource, countCaptures, exportCaptures, importJsonl } from './source.js';
export { DEFAULT_OUTPUT_TOKENS } from './engine.js';
export { type CaptureSource, type Decider, type DryRunReport, type ReplayCapture, DryRunError, NO_TARGET, RECORDED, STATIC } from './types.js';
