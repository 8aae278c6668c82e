/** The image pull policies a pod can name; `CachedIfFailed` is the one this project adds. */
export const POLICIES = ['Always', 'IfNotPresent', 'Never', 'CachedIfFailed'] as const;
export type Policy = (typeof POLICIES)[number];
