// Original file: proto/strata/v1/link.proto

export const TaskState = {
  TASK_STATE_UNSPECIFIED: 'TASK_STATE_UNSPECIFIED',
  /**
   * The worker took the task into its queue (sent once per attempt, before RUNNING).
   */
  TASK_STATE_ACCEPTED: 'TASK_STATE_ACCEPTED',
  /**
   * The code started running.
   */
  TASK_STATE_RUNNING: 'TASK_STATE_RUNNING',
  TASK_STATE_PAUSED: 'TASK_STATE_PAUSED',
  /**
   * The worker could not take the task (full, draining): the Master dispatches it elsewhere or
   * later with a new attempt; no result follows for this attempt.
   */
  TASK_STATE_REFUSED: 'TASK_STATE_REFUSED',
} as const;

export type TaskState =
  | 'TASK_STATE_UNSPECIFIED'
  | 0
  /**
   * The worker took the task into its queue (sent once per attempt, before RUNNING).
   */
  | 'TASK_STATE_ACCEPTED'
  | 1
  /**
   * The code started running.
   */
  | 'TASK_STATE_RUNNING'
  | 2
  | 'TASK_STATE_PAUSED'
  | 3
  /**
   * The worker could not take the task (full, draining): the Master dispatches it elsewhere or
   * later with a new attempt; no result follows for this attempt.
   */
  | 'TASK_STATE_REFUSED'
  | 4

export type TaskState__Output = typeof TaskState[keyof typeof TaskState]
