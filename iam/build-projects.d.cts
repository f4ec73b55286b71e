type Statement = { Effect: 'Allow' | 'Deny'; Action: string[]; Resource: unknown };

declare const projects: {
  statement: (context: { resolveVariable: (name: string) => Promise<unknown> }) => Promise<Statement>;
  buildProjectsStatement(buildProjects: unknown): Statement;
};
export = projects;
