import { describe, expect, it } from 'vitest';
import { Kernel } from './kernel.js';
import { LATEST_RELEASE, releaseDifferences, releaseHas, releaseOfUname, releaseSublevel } from './release.js';

describe('kernel releases', () => {
  it('orders 6.18 stable releases, the newest being 6.18.y', () => {
    expect(releaseSublevel('6.18.7')).toBe(7);
    expect(releaseSublevel(LATEST_RELEASE)).toBe(Infinity);
    expect(releaseSublevel('6.17.1')).toBeNull();
    expect(releaseHas('6.18.7', 'copied-from')).toBe(false);
    expect(releaseHas('6.18.8', 'copied-from')).toBe(true);
    expect(releaseHas('6.18.y', 'copied-from')).toBe(true);
    expect(releaseOfUname('6.18.44-fc-v1300')).toBe('6.18.44');
    expect(releaseOfUname('6.1.0-13-amd64')).toBeNull();
  });
  it('says which changes lie between two releases', () => {
    expect(releaseDifferences('6.18.7', '6.18.44').map((c) => c.id)).toEqual(['copied-from']);
    expect(releaseDifferences('6.18.8', '6.18.44')).toEqual([]);
    expect(releaseDifferences('6.18.0', '6.18.7')).toEqual([]);
  });
  it('refuses a release or a revert the model does not know', () => {
    expect(() => new Kernel({ config: { release: '6.19.1' } })).toThrow(/unknown kernel release "6.19.1"/);
    expect(() => new Kernel({ config: { revert: ['no-such-fix'] } })).toThrow(/unknown fix to revert "no-such-fix" \(known: vma-merge-next-pgoff, anon-vma-degree, dup-anon-vma-lock\)/);
  });
});
