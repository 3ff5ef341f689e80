// Original file: proto/strata/v1/link.proto


/**
 * Asks the Master for up to `count` more tasks (PULL mode).
 */
export interface PullRequest {
  'count'?: (number);
}

/**
 * Asks the Master for up to `count` more tasks (PULL mode).
 */
export interface PullRequest__Output {
  'count': (number);
}
