// Counts the calling thread's heap allocations for the tests that prove a steady-state step
// allocates nothing. Each function forwards to glibc's implementation (__libc_*), so the
// process behaves as without it; free needs no counting and is not interposed.
#include <errno.h>
#include <stddef.h>
#include "NGAllocationCounter.h"

extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t count, size_t size);
extern void *__libc_realloc(void *pointer, size_t size);
extern void *__libc_memalign(size_t alignment, size_t size);

#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define NG_UNDER_SANITIZER 1
#endif
#endif

#ifdef NG_UNDER_SANITIZER
// A sanitizer owns malloc: interposing it as below would hand its memory to glibc. The
// counter is then unavailable and the allocation tests skip (scripts/sanitize).
long ng_thread_allocation_count(void) { return -1; }
int ng_allocation_counting_available(void) { return 0; }
#else
static __thread long allocations;

void *malloc(size_t size) {
    allocations++;
    return __libc_malloc(size);
}

void *calloc(size_t count, size_t size) {
    allocations++;
    return __libc_calloc(count, size);
}

void *realloc(void *pointer, size_t size) {
    allocations++;
    return __libc_realloc(pointer, size);
}

int posix_memalign(void **result, size_t alignment, size_t size) {
    allocations++;
    void *pointer = __libc_memalign(alignment, size);
    if (pointer == NULL) return ENOMEM;
    *result = pointer;
    return 0;
}

void *aligned_alloc(size_t alignment, size_t size) {
    allocations++;
    return __libc_memalign(alignment, size);
}

long ng_thread_allocation_count(void) {
    return allocations;
}

int ng_allocation_counting_available(void) { return 1; }
#endif
