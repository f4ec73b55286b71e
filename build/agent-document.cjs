// The agent install SSM document's content for serverless.yml (${file(./build/agent-document.cjs):content}):
// cli/agent-document.ts writes it; here the API URL slot becomes the stack's own HTTP API URL.
const { join } = require('node:path');

/** https://<HttpApi>.execute-api.<region>.<suffix>, as the template knows it. */
const API_URL = { 'Fn::Join': ['', ['https://', { Ref: 'HttpApi' }, '.execute-api.', { Ref: 'AWS::Region' }, '.', { Ref: 'AWS::URLSuffix' }]] };

module.exports.content = async ({ resolveVariable }) => {
  const bucket = await resolveVariable('param:artifactBucket');
  // The script is TypeScript; tsx (a development dependency, like osls itself) loads it.
  const { require: requireTs } = require('tsx/cjs/api');
  const { agentInstallDocument, API_URL_SLOT } = requireTs(join(__dirname, '../cli/agent-document.ts'), __filename);
  const document = agentInstallDocument(bucket);
  for (const step of document.mainSteps) {
    step.inputs.runCommand = step.inputs.runCommand.map((line) => {
      if (!line.includes(API_URL_SLOT)) return line;
      const parts = line.split(API_URL_SLOT).flatMap((part, i) => (i === 0 ? [part] : [API_URL, part]));
      return { 'Fn::Join': ['', parts] };
    });
  }
  return document;
};
