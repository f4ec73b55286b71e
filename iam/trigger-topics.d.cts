type Statement = { Effect: 'Allow' | 'Deny'; Action: string[]; Resource: unknown };

declare const topics: {
  statement: (context: { resolveVariable: (name: string) => Promise<unknown> }) => Promise<Statement>;
  triggerTopicsStatement(triggerTopicArns: unknown): Statement;
};
export = topics;
