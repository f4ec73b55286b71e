import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { locateAppspec } from '../../lib/domain/appspec-location.js';

// The CodeDeploy agent's rule (command_executor.rb, unpack_bundle and app_spec_real_path): after
// unpacking, a root holding exactly one entry, a folder with something named like "appspec" in it,
// is replaced by that folder; then appspec.yml, else appspec.yaml, is read from the root.
describe('finding the appspec in a bundle (one rule for preflight, bundle validate and the agent)', () => {
  it('takes the root one, even when a folder holding another comes first in the archive', () => {
    expect(locateAppspec(['old/appspec.yml', 'old/run.sh', 'appspec.yml', 'run.sh'])).toEqual({ root: '', appspecPath: 'appspec.yml', ignored: 0 });
    expect(locateAppspec(['./appspec.yml'])).toMatchObject({ root: '' });
  });

  it('reads appspec.yaml when there is no appspec.yml, and appspec.yml when there are both', () => {
    expect(locateAppspec(['appspec.yaml', 'run.sh'])).toEqual({ root: '', appspecPath: 'appspec.yaml', ignored: 0 });
    expect(locateAppspec(['appspec.yaml', 'appspec.yml'])).toEqual({ root: '', appspecPath: 'appspec.yml', ignored: 0 });
    expect(locateAppspec(['app/appspec.yaml', 'app/run.sh'])).toEqual({ root: 'app/', appspecPath: 'app/appspec.yaml', ignored: 0 });
  });

  it('takes a top folder holding one when it is the archive root\'s only entry (hidden or not)', () => {
    expect(locateAppspec(['app/appspec.yml', 'app/scripts/start.sh'])).toEqual({ root: 'app/', appspecPath: 'app/appspec.yml', ignored: 0 });
    expect(locateAppspec(['./app/appspec.yml'], ['app/', 'app/empty/'])).toMatchObject({ root: 'app/' });
    expect(locateAppspec(['.build/appspec.yml'])).toMatchObject({ root: '.build/' });
  });

  it('refuses a folder holding one when anything sits beside it at the root, naming what does', () => {
    expect(locateAppspec(['app/appspec.yml', 'app/scripts/start.sh', 'README.md'])).toEqual({ problem: expect.stringMatching(/app\/ holds one.*README\.md sits beside it/) });
    expect(locateAppspec(['app/appspec.yml', '__MACOSX/app/._appspec.yml'])).toEqual({ problem: expect.stringMatching(/only when it is the archive's only entry/) });
    expect(locateAppspec(['app/appspec.yml'], ['logs/'])).toEqual({ problem: expect.stringMatching(/logs sits beside it/) });
  });

  it('refuses none, one too deep, a lone folder whose "appspec" is not one, or several folders each holding one', () => {
    expect(locateAppspec([])).toEqual({ problem: expect.stringMatching(/empty/) });
    expect(locateAppspec(['a/b/appspec.yml', 'x'])).toEqual({ problem: expect.stringMatching(/no appspec.yml \(nor appspec.yaml\) at its root/) });
    expect(locateAppspec(['a/b/appspec.yml'])).toEqual({ problem: expect.stringMatching(/no appspec.yml/) });
    expect(locateAppspec(['a/Appspec.yml'])).toEqual({ problem: expect.stringMatching(/only folder a\/ has no appspec.yml/) });
    expect(locateAppspec(['a/appspec.yml', 'b/appspec.yml'])).toHaveProperty('problem');
    expect(locateAppspec(['appspec.yml.bak', 'Appspec.yml'])).toHaveProperty('problem');
  });

  it('does not depend on the order of entries', () => {
    const name = fc.constantFrom('appspec.yml', 'appspec.yaml', 'a/appspec.yml', 'b/appspec.yml', 'a/x', 'README.md', 'a/b/appspec.yml', './appspec.yml');
    fc.assert(
      fc.property(fc.array(name, { maxLength: 8 }), (files) => {
        expect(locateAppspec([...files].reverse())).toEqual(locateAppspec(files));
      }),
      { numRuns: 200 },
    );
  });
});
