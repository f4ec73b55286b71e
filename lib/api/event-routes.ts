import { type FleetEvent, eventSubject } from '../domain/state-events.js';
import { route } from './deps.js';
import { operations } from './operations.js';

/** Who may see an event: the group its deployment ran on, or its pipeline. */
function resourceOf(event: FleetEvent): string {
  const subject = eventSubject(event);
  return 'pipeline' in subject ? `pipeline/${subject.pipeline}` : `application/${subject.application}/group/${subject.group}`;
}

export const eventRoutes = [
  route(operations.listEvents, {
    // Each event is shown to a caller allowed events:list on its group or pipeline: the others are hidden, as a Deny hides items of any list.
    access: { action: 'events:list', list: true },
    async handle({ query, deps, visible }) {
      const { limit, nextToken, ...filter } = query;
      return { statusCode: 200, body: await deps.events.list(filter, { limit, nextToken, visible: (event) => visible(resourceOf(event)) }) };
    },
  }),
];
