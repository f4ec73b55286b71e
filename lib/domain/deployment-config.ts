import { z } from 'zod';
import { UnprocessableError } from '../errors.js';
import { schema } from './schema.js';

export const PRESET_CONFIGS = ['AllAtOnce', 'HalfAtATime', 'OneAtATime'] as const;
export type PresetConfig = (typeof PRESET_CONFIGS)[number];

export interface MinimumHealthyHosts {
  type: 'HOST_COUNT' | 'FLEET_PERCENT';
  value: number;
}

export type DeploymentConfig = PresetConfig | { minimumHealthyHosts: MinimumHealthyHosts };

const minimumHealthyHostsSchema = /* @__PURE__ */ schema(() => z.strictObject({
  type: z.enum(['HOST_COUNT', 'FLEET_PERCENT'], { error: 'must be HOST_COUNT or FLEET_PERCENT' }),
  value: z.number({ error: 'must be a number' }).int('must be a whole number').min(0, 'must be 0 or more'),
}).superRefine((m, ctx) => {
  if (m.type === 'FLEET_PERCENT' && m.value > 100) {
    ctx.addIssue({ code: 'custom', path: ['value'], message: 'a FLEET_PERCENT must be between 0 and 100' });
  }
}));

/**
 * Shape only: a preset name (checked for meaning by resolveDeploymentConfig, which
 * answers 422 for an unknown one) or a custom minimum-healthy-hosts rule.
 */
export const deploymentConfigSchema = /* @__PURE__ */ schema(() => z.union(
  [
    z.string(),
    z.strictObject({ minimumHealthyHosts: minimumHealthyHostsSchema }),
  ],
  { error: 'must be a preset name (AllAtOnce, HalfAtATime, OneAtATime) or { minimumHealthyHosts: { type, value } }' },
));

/** Accepts CodeDeploy's names too (`CodeDeployDefault.OneAtATime`) so existing configs carry over. */
export function resolveDeploymentConfig(
  input: z.output<typeof deploymentConfigSchema>,
  path = '$.deploymentConfig',
): DeploymentConfig {
  if (typeof input !== 'string') return input;
  const name = input.replace(/^CodeDeployDefault\./, '');
  const preset = PRESET_CONFIGS.find((p) => p === name);
  if (preset) return preset;
  throw new UnprocessableError(`Unknown deployment config "${input}"`, [
    { path, message: `must be one of ${PRESET_CONFIGS.join(', ')} or a minimumHealthyHosts rule` },
  ]);
}
