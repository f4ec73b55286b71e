type Statement = { Effect: 'Allow' | 'Deny'; Action: string[]; Resource: unknown };
type FromParameters = (context: { resolveVariable: (name: string) => Promise<unknown> }) => Promise<Statement>;

declare const roles: {
  issue: FromParameters;
  lookup: FromParameters;
  assumeStatement(actions: string[], credentialAccounts: unknown, assumableRolePath: string): Statement;
};
export = roles;
