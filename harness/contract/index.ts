/** The vocabulary every other folder shares. Nothing in contract/ imports from outside it. */
export * from './policies.ts';
export * from './faults.ts';
export * from './outcomes.ts';
export * from './results.ts';
export * from './test-image.ts';
