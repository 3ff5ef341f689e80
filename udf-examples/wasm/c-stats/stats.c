/*
 * A WASI command for Strata's wasm tier: reads the input JSON (an array of numbers) from stdin
 * and prints {"count","sum","mean","min","max"} to stdout, which becomes the result.
 * Build: ./build.sh (clang + wasi-libc).
 */
#include <stdio.h>
#include <stdlib.h>

int main(void) {
  static char input[1 << 16];
  size_t len = fread(input, 1, sizeof input - 1, stdin);
  input[len] = '\0';
  double sum = 0, min = 0, max = 0;
  int count = 0;
  char *p = input;
  while (*p) {
    char *end;
    double v = strtod(p, &end);
    if (end == p) { p++; continue; }
    if (count == 0 || v < min) min = v;
    if (count == 0 || v > max) max = v;
    sum += v;
    count++;
    p = end;
  }
  if (count == 0) {
    fprintf(stderr, "no numbers in the input\n");
    return 2;
  }
  printf("{\"count\":%d,\"sum\":%g,\"mean\":%g,\"min\":%g,\"max\":%g}\n", count, sum, sum / count, min, max);
  return 0;
}
