// The IAM statement that lets the worker and the reconciler run build actions: StartBuild,
// BatchGetBuilds and StopBuild on the CodeBuild projects the deploy parameter buildProjects
// names (comma-separated names, `*` allowed), in the stack's account and region, nothing else.
// Resolved by osls at package time: ${file(./iam/build-projects.cjs):statement}
const NAME = /^[A-Za-z0-9*][A-Za-z0-9_*-]{0,254}$/;

function buildProjectsStatement(buildProjects) {
  const names = String(buildProjects ?? '').split(',').map((n) => n.trim()).filter(Boolean);
  const bad = names.filter((n) => !NAME.test(n) || n === '*');
  if (bad.length > 0) throw new Error(`buildProjects must be comma-separated CodeBuild project names (a * may stand for part of a name, not all of it); not ${bad.join(', ')}`);
  const actions = ['codebuild:StartBuild', 'codebuild:BatchGetBuilds', 'codebuild:StopBuild'];
  if (names.length === 0) {
    return { Effect: 'Deny', Action: actions, Resource: { 'Fn::Sub': 'arn:${AWS::Partition}:codebuild:*:*:project/*' } };
  }
  return {
    Effect: 'Allow',
    Action: actions,
    Resource: [...new Set(names)].map((name) => ({ 'Fn::Sub': `arn:\${AWS::Partition}:codebuild:\${AWS::Region}:\${AWS::AccountId}:project/${name}` })),
  };
}

module.exports = {
  statement: async ({ resolveVariable }) => buildProjectsStatement(await resolveVariable('param:buildProjects')),
  buildProjectsStatement,
};
