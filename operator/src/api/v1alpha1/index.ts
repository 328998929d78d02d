export * from './constants.js';
export * from './cel.js';
export * from './common.js';
export * from './fieldpath.js';
export * from './miningpool.js';
export * from './economics.js';
export * from './minerfleet.js';
export * from './validate.js';
