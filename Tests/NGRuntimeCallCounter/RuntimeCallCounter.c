// Counts the calling thread's calls to four Swift runtime entry points, for the tests that
// prove a warm training step runs no code left unspecialized per value. Each interposer
// forwards to the runtime's implementation, found once with dlsym(RTLD_NEXT). The runtime
// declares the metadata functions with the Swift calling convention; for their arguments (no
// context, no error) and their two-word result it passes the same registers as C on x86-64
// and AArch64, so plain C declarations forward them unchanged.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdbool.h>
#include <stddef.h>
#include "NGRuntimeCallCounter.h"

typedef struct {
    const void *value;
    size_t state;
} MetadataResponse;

/// The runtime's implementation of `name`, looked up on first use (atomically: any thread may
/// be first).
static void *original(void **cache, const char *name) {
    void *function = __atomic_load_n(cache, __ATOMIC_ACQUIRE);
    if (function == NULL) {
        function = dlsym(RTLD_NEXT, name);
        __atomic_store_n(cache, function, __ATOMIC_RELEASE);
    }
    return function;
}

static __thread long dynamicCasts;
static __thread long genericMetadata;
static __thread long witnessLookups;

bool swift_dynamicCast(void *destination, void *source, const void *sourceType, const void *targetType, size_t flags) {
    static void *cache;
    bool (*forward)(void *, void *, const void *, const void *, size_t) = original(&cache, "swift_dynamicCast");
    dynamicCasts++;
    return forward(destination, source, sourceType, targetType, flags);
}

MetadataResponse swift_getGenericMetadata(size_t request, const void *const *arguments, const void *description) {
    static void *cache;
    MetadataResponse (*forward)(size_t, const void *const *, const void *) = original(&cache, "swift_getGenericMetadata");
    genericMetadata++;
    return forward(request, arguments, description);
}

MetadataResponse swift_getAssociatedTypeWitness(
    size_t request, void *table, const void *conformingType, const void *base, const void *requirement
) {
    static void *cache;
    MetadataResponse (*forward)(size_t, void *, const void *, const void *, const void *) =
        original(&cache, "swift_getAssociatedTypeWitness");
    witnessLookups++;
    return forward(request, table, conformingType, base, requirement);
}

const void *swift_getAssociatedConformanceWitness(
    void *table, const void *conformingType, const void *assocType, const void *base, const void *requirement
) {
    static void *cache;
    const void *(*forward)(void *, const void *, const void *, const void *, const void *) =
        original(&cache, "swift_getAssociatedConformanceWitness");
    witnessLookups++;
    return forward(table, conformingType, assocType, base, requirement);
}

long ng_thread_dynamic_cast_count(void) { return dynamicCasts; }
long ng_thread_generic_metadata_count(void) { return genericMetadata; }
long ng_thread_witness_lookup_count(void) { return witnessLookups; }
