import { describe, expect, it } from 'vitest';
import { parseTrigger } from '../../cli/main.js';

describe('groups put --trigger NAME:TOPIC_ARN:EVENTS', () => {
  it('refuses a spec without a name, a topic or events, showing the form', () => {
    for (const spec of ['arn:aws:sns:eu-west-1:111122223333:deploys', ':arn:aws:sns:eu-west-1:111122223333:deploys:DeploymentFailure', 'ops:DeploymentFailure', 'ops::DeploymentFailure', 'ops:arn:aws:sns:eu-west-1:111122223333:deploys:']) {
      expect(() => parseTrigger(spec), spec).toThrow(/is not NAME:TOPIC_ARN:EVENT\[,EVENT\.\.\.\]/);
    }
  });

  it('takes the name before the first colon, the events after the last, the topic ARN between', () => {
    expect(parseTrigger('ops:arn:aws:sns:eu-west-1:111122223333:deploys:DeploymentFailure, DeploymentStop')).toEqual({
      triggerName: 'ops',
      triggerTargetArn: 'arn:aws:sns:eu-west-1:111122223333:deploys',
      triggerEvents: ['DeploymentFailure', 'DeploymentStop'],
    });
  });
});
