#ifndef NG_RUNTIME_CALL_COUNTER_H
#define NG_RUNTIME_CALL_COUNTER_H

/// The calls the calling thread has made so far to the Swift runtime's entry points of code
/// that is not specialized: dynamic casts (`swift_dynamicCast`), generic metadata made at run
/// time (`swift_getGenericMetadata`) and associated types and conformances looked up in
/// witness tables (`swift_getAssociatedTypeWitness`, `swift_getAssociatedConformanceWitness`).
/// Linking this target into a test executable interposes those four functions for the whole
/// process; each forwards to the runtime's own.
long ng_thread_dynamic_cast_count(void);
long ng_thread_generic_metadata_count(void);
long ng_thread_witness_lookup_count(void);

#endif
