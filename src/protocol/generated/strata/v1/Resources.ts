// Original file: proto/strata/v1/link.proto

import type { Long } from '@grpc/proto-loader';

export interface Resources {
  /**
   * CPU busy fraction of the node, 0..1 (all cores together).
   */
  'cpuUsage'?: (number | string);
  'cpuCores'?: (number);
  'memoryTotalBytes'?: (number | string | Long);
  'memoryUsedBytes'?: (number | string | Long);
  'diskTotalBytes'?: (number | string | Long);
  'diskFreeBytes'?: (number | string | Long);
  /**
   * 1-minute load average.
   */
  'load1'?: (number | string);
}

export interface Resources__Output {
  /**
   * CPU busy fraction of the node, 0..1 (all cores together).
   */
  'cpuUsage': (number);
  'cpuCores': (number);
  'memoryTotalBytes': (string);
  'memoryUsedBytes': (string);
  'diskTotalBytes': (string);
  'diskFreeBytes': (string);
  /**
   * 1-minute load average.
   */
  'load1': (number);
}
