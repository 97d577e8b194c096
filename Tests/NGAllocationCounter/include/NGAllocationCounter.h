#ifndef NG_ALLOCATION_COUNTER_H
#define NG_ALLOCATION_COUNTER_H

/// The number of heap allocations (malloc, calloc, realloc, posix_memalign, aligned_alloc)
/// made so far by the calling thread. Linking this target into the test executable
/// interposes those functions for the whole process; each forwards to glibc's own.
long ng_thread_allocation_count(void);

/// 1 when the counter works; 0 in a build under a sanitizer, which owns malloc (the count is
/// then -1).
int ng_allocation_counting_available(void);

#endif
