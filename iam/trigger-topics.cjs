// The IAM statement that lets the worker publish deployment groups' trigger notifications:
// sns:Publish on the topics the deploy parameter triggerTopicArns names (comma-separated topic
// ARNs, `*` allowed in the region and the topic name), and an explicit Deny of every topic
// when it names none. The parameter's form is checked before packaging (build/parameter-checks.cjs,
// with the functions' own rule in lib/config.ts), and the API refuses a trigger on any other topic.
// Resolved by osls at package time: ${file(./iam/trigger-topics.cjs):statement}
function triggerTopicsStatement(triggerTopicArns) {
  const arns = [...new Set(String(triggerTopicArns ?? '').split(',').map((n) => n.trim()).filter(Boolean))];
  if (arns.length === 0) {
    return { Effect: 'Deny', Action: ['sns:Publish'], Resource: { 'Fn::Sub': 'arn:${AWS::Partition}:sns:*:*:*' } };
  }
  return { Effect: 'Allow', Action: ['sns:Publish'], Resource: arns };
}

module.exports = {
  statement: async ({ resolveVariable }) => triggerTopicsStatement(await resolveVariable('param:triggerTopicArns')),
  triggerTopicsStatement,
};
