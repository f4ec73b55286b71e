import type { ActionState, Execution } from './pipeline.js';

/**
 * An execution is one DynamoDB item (400 KB at most). Its size is bounded by
 * construction: the pipeline's stage and action counts are capped at save
 * (MAX_STAGES, MAX_ACTIONS), and every free-text field is cut to a fixed length
 * before it is stored. The tests build the largest execution those bounds allow
 * and store it in DynamoDB.
 */
export const TEXT_LIMITS = {
  /** Error messages (an execution's, an action's). */
  error: 1024,
  /** Principal ARNs recorded as approver, trigger, uploader, authority. */
  principal: 1024,
  comment: 1024,
  problems: 20,
  problemPath: 256,
  problemMessage: 512,
} as const;

export function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

function clipOptional(text: string | undefined, max: number): string | undefined {
  return text === undefined ? undefined : clip(text, max);
}

function boundAction(action: ActionState): ActionState {
  return {
    ...action,
    error: clipOptional(action.error, TEXT_LIMITS.error),
    ...(action.decision
      ? {
          decision: {
            ...action.decision,
            by: clip(action.decision.by, TEXT_LIMITS.principal),
            comment: clip(action.decision.comment, TEXT_LIMITS.comment),
          },
        }
      : {}),
  };
}

/** The execution with every free-text field cut to its limit (what is stored). */
export function boundExecution(ex: Execution): Execution {
  const problems = ex.preflight?.problems ?? [];
  const kept = problems.slice(0, TEXT_LIMITS.problems).map((p) => ({
    path: clip(p.path, TEXT_LIMITS.problemPath),
    message: clip(p.message, TEXT_LIMITS.problemMessage),
  }));
  if (problems.length > TEXT_LIMITS.problems) {
    kept[kept.length - 1] = { path: 'appspec.yml', message: `and ${problems.length - TEXT_LIMITS.problems + 1} more problem(s)` };
  }
  return {
    ...ex,
    trigger: { ...ex.trigger, by: clip(ex.trigger.by, TEXT_LIMITS.principal) },
    authority: clipOptional(ex.authority, TEXT_LIMITS.principal),
    revision: { ...ex.revision, uploader: clipOptional(ex.revision.uploader, TEXT_LIMITS.principal) },
    error: clipOptional(ex.error, TEXT_LIMITS.error),
    stoppedBy: clipOptional(ex.stoppedBy, TEXT_LIMITS.principal),
    stages: ex.stages.map((stage) => ({ ...stage, actions: stage.actions.map(boundAction) })),
    ...(ex.preflight ? { preflight: { ...ex.preflight, problems: kept } } : {}),
  };
}
