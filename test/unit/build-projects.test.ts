import { describe, expect, it } from 'vitest';
import projects from '../../iam/build-projects.cjs';

describe("the functions' build statement (iam/build-projects.cjs)", () => {
  it('allows the three build calls on each named project, in the stack\'s account and region', () => {
    expect(projects.buildProjectsStatement('web-build, api-*,web-build')).toEqual({
      Effect: 'Allow',
      Action: ['codebuild:StartBuild', 'codebuild:BatchGetBuilds', 'codebuild:StopBuild'],
      Resource: [
        { 'Fn::Sub': 'arn:${AWS::Partition}:codebuild:${AWS::Region}:${AWS::AccountId}:project/web-build' },
        { 'Fn::Sub': 'arn:${AWS::Partition}:codebuild:${AWS::Region}:${AWS::AccountId}:project/api-*' },
      ],
    });
  });

  it('denies every build when no project is named, and refuses a name that could reach further than a project', () => {
    expect(projects.buildProjectsStatement('')).toMatchObject({ Effect: 'Deny' });
    expect(() => projects.buildProjectsStatement('*')).toThrow(/not \*/);
    expect(() => projects.buildProjectsStatement('web/../x,ok')).toThrow(/not web\/\.\.\/x$/);
    expect(() => projects.buildProjectsStatement('a:b')).toThrow(/CodeBuild project names/);
  });
});
