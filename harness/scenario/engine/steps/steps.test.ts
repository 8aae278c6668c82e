import { describe, expect, it } from 'vitest';
import { STEP_KINDS } from '../../format/schema.ts';
import { handlerFor } from './index.ts';

describe('step handlers', () => {
  it('every step kind of the format has its handler file', async () => {
    for (const kind of STEP_KINDS) expect(typeof (await handlerFor(kind)), kind).toBe('function');
  });

  it('says which file is missing for a kind without one', async () => {
    await expect(handlerFor('no-such-kind' as never)).rejects.toThrow();
  });
});
