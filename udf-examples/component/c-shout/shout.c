/*
 * A component for Strata's wasm tier, in plain C: it exports the Strata world's
 *   run: func(input: string) -> string          (wit/strata.wit, world "function")
 * through the component model's canonical ABI by hand (no bindings generator needed), and
 * returns {"shout": <the input JSON text upper-cased, as a string>, "env": <environment size>}.
 * "env" shows what a guest sees of the host's environment: Strata gives it none (0).
 * Build: ./build.sh (clang + wasi-libc as a reactor, then jco's componentEmbed + componentNew).
 */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern char **environ;

/* The canonical ABI allocates argument and result memory in the guest through this export. */
__attribute__((export_name("cabi_realloc")))
void *cabi_realloc(void *ptr, size_t old_size, size_t align, size_t new_size) {
  (void)old_size;
  (void)align;
  return realloc(ptr, new_size);
}

static struct { char *ptr; size_t len; } ret;

/* run(ptr, len) -> pointer to (ptr, len) of the result string. */
__attribute__((export_name("run")))
void *run(char *input, size_t len) {
  size_t env = 0;
  for (char **e = environ; e && *e; e++) env++;
  size_t cap = len * 2 + 64;
  char *out = malloc(cap);
  size_t n = (size_t)snprintf(out, cap, "{\"shout\":\"");
  for (size_t i = 0; i < len && n + 3 < cap; i++) {
    char c = (char)toupper((unsigned char)input[i]);
    if (c == '"' || c == '\\') out[n++] = '\\';
    out[n++] = c;
  }
  n += (size_t)snprintf(out + n, cap - n, "\",\"env\":%zu}", env);
  free(input);
  ret.ptr = out;
  ret.len = n;
  return &ret;
}

/* Called after the host has copied the result out. */
__attribute__((export_name("cabi_post_run")))
void cabi_post_run(void *p) {
  (void)p;
  free(ret.ptr);
}
