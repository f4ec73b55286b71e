// An osls plugin: deploy parameters are checked before anything is packaged or deployed.
const { join } = require('node:path');

/**
 * The parameters the functions read, each through one variable. Their rules are the
 * functions' own (lib/config.ts): what would stop a function at cold start stops the
 * package instead, naming the parameter to change.
 */
const VARIABLE_OF = {
  artifactBucket: 'ARTIFACT_BUCKET',
  adminPrincipals: 'ADMIN_PRINCIPALS',
  agentAccounts: 'AGENT_ACCOUNTS',
  credentialAccounts: 'CREDENTIAL_ACCOUNTS',
  assumableRolePath: 'ASSUMABLE_ROLE_PATH',
  agentRoleNames: 'AGENT_ROLE_NAMES',
  eventBus: 'EVENT_BUS',
  triggerTopicArns: 'TRIGGER_TOPIC_ARNS',
};

/** The parameters only the stack reads. */
const STACK_RULES = {
  createAgentRole: (value) => (value === 'true' || value === 'false' ? undefined : 'must be true or false'),
  hookLogRetentionDays: (value) => (/^[1-9]\d{0,4}$/.test(value) ? undefined : 'must be a whole number of days (1 or more)'),
};

/** A parameter's value as osls resolves it: --param first, then the stage's params, then the defaults. */
function resolvedParams(serverless, stage) {
  const configured = serverless.configurationInput?.params ?? {};
  const values = { ...(configured.default ?? {}), ...(configured[stage] ?? {}) };
  for (const item of serverless.processedInput?.options?.param ?? []) {
    const at = item.indexOf('=');
    if (at > 0) values[item.slice(0, at)] = item.slice(at + 1);
  }
  return Object.fromEntries(Object.entries(values).map(([name, value]) => [name, value == null ? '' : String(value)]));
}

/** One line per problem, each naming the parameter and how to set it. */
function parameterProblems(params, configProblems) {
  const env = { TABLE_NAME: 'fleetline-check' };
  for (const [name, variable] of Object.entries(VARIABLE_OF)) if (name in params) env[variable] = params[name];
  const problems = configProblems(env, { api: true }).map(({ variable, message }) => {
    const name = Object.keys(VARIABLE_OF).find((n) => VARIABLE_OF[n] === variable);
    return name ? `parameter ${name} (${variable}) ${message}` : `${variable} ${message}`;
  });
  for (const [name, rule] of Object.entries(STACK_RULES)) {
    const problem = rule(params[name] ?? '');
    if (problem) problems.push(`parameter ${name} ${problem}`);
  }
  return problems;
}

class ParameterChecksPlugin {
  constructor(serverless, options) {
    this.hooks = {
      // `osls deploy` packages first: this runs before either does anything.
      'before:package:initialize': () => {
        const stage = serverless.getProvider('aws').getStage(options);
        // The rules are TypeScript; tsx (a development dependency, like osls itself) loads them.
        const { require: requireTs } = require('tsx/cjs/api');
        const { configProblems } = requireTs(join(__dirname, '../lib/config.ts'), __filename);
        const problems = parameterProblems(resolvedParams(serverless, stage), configProblems);
        if (problems.length > 0) {
          throw new serverless.classes.Error(`Fleetline cannot be packaged for stage ${stage}:\n${problems.map((p) => `  - ${p}`).join('\n')}\nSet them with --param="<name>=<value>".`, 'FLEETLINE_PARAMETERS');
        }
      },
    };
  }
}

module.exports = ParameterChecksPlugin;
module.exports.parameterProblems = parameterProblems;
