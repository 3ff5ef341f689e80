#!/bin/sh
# `strata` inside the image: the CLI on the image's Node 24. As PID 1 (the container's entry
# point) it runs under tini, which forwards signals and reaps orphans; `docker exec <c> strata ...`
# runs the CLI directly.
if [ "$$" = 1 ]; then exec tini -- node /app/src/cli/main.ts "$@"; fi
exec node /app/src/cli/main.ts "$@"
