/*
 * heap-count: what a bootstrap's heap really holds, next to what its RSS says.
 *
 * An LD_PRELOAD library for glibc. It counts the blocks malloc has handed
 * out and not yet taken back (and their usable bytes), and every
 * HEAP_COUNT_MS milliseconds (default 1000) appends one line to the file
 * HEAP_COUNT_FILE.PID (one file per process) with that count and glibc's
 * own mallinfo2() totals:
 *
 *   live_bytes=... live_blocks=... allocs=... arena=... inuse=... free=... mmap=...
 *
 * live_*: what the program holds. arena: what glibc took from the kernel
 * (sbrk and arena heaps); inuse counts blocks parked in per-thread caches
 * too; free: what glibc holds free in its bins. A leak grows live_bytes; an
 * allocator that fragments grows arena while live_bytes stays put. That is
 * how the N = 64 soak was told apart (README, "Contributing: fuzzing and
 * soak"). A diagnostic, never linked into a bootstrap.
 *
 *   cc -O2 -shared -fPIC -o heap-count.so heap-count.c -lpthread
 *   HEAP_COUNT_FILE=/tmp/heap LD_PRELOAD=$PWD/heap-count.so \
 *     target/release/tiny-lambda bench --soak 100000 --concurrency 64 \
 *     --event '{"sleep_ms":0}' target/size/examples/concurrent
 *
 * bench passes its environment on, so the bench itself is counted too: its
 * file is the one with the lower PID, and the bootstrap's the other.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* glibc's own entry points: ours wrap them. */
extern void *__libc_malloc(size_t);
extern void __libc_free(void *);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);

static _Atomic long live_bytes, live_blocks, allocs;

static void taken(void *p) {
  if (!p) return;
  atomic_fetch_add(&live_bytes, (long)malloc_usable_size(p));
  atomic_fetch_add(&live_blocks, 1);
  atomic_fetch_add(&allocs, 1);
}

static void given_back(void *p) {
  if (!p) return;
  atomic_fetch_sub(&live_bytes, (long)malloc_usable_size(p));
  atomic_fetch_sub(&live_blocks, 1);
}

void *malloc(size_t n) { void *p = __libc_malloc(n); taken(p); return p; }
void free(void *p) { given_back(p); __libc_free(p); }
void *calloc(size_t k, size_t n) { void *p = __libc_calloc(k, n); taken(p); return p; }
void *memalign(size_t align, size_t n) { void *p = __libc_memalign(align, n); taken(p); return p; }
void *aligned_alloc(size_t align, size_t n) { return memalign(align, n); }

void *realloc(void *old, size_t n) {
  given_back(old);
  void *p = __libc_realloc(old, n);
  if (p) taken(p);
  else if (old && n) taken(old); /* failed: the old block is still ours */
  return p;
}

int posix_memalign(void **out, size_t align, size_t n) {
  void *p = __libc_memalign(align, n);
  if (!p) return ENOMEM;
  taken(p);
  *out = p;
  return 0;
}

static void *report(void *unused) {
  (void)unused;
  const char *ms = getenv("HEAP_COUNT_MS");
  long period_ms = ms ? atol(ms) : 1000;
  char path[4096];
  snprintf(path, sizeof path, "%s.%d", getenv("HEAP_COUNT_FILE"), (int)getpid());
  FILE *out = fopen(path, "w");
  if (!out) return NULL;
  for (;;) {
    usleep((useconds_t)(period_ms * 1000));
    struct mallinfo2 m = mallinfo2();
    fprintf(out, "live_bytes=%ld live_blocks=%ld allocs=%ld arena=%zu inuse=%zu free=%zu mmap=%zu\n",
            atomic_load(&live_bytes), atomic_load(&live_blocks), atomic_load(&allocs),
            m.arena, m.uordblks, m.fordblks, m.hblkhd);
    fflush(out);
  }
  return NULL;
}

__attribute__((constructor)) static void start(void) {
  if (!getenv("HEAP_COUNT_FILE")) return;
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, 64 * 1024);
  pthread_t thread;
  pthread_create(&thread, &attr, report, NULL);
}
