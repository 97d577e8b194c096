// CPUID and XGETBV for NGKernels' CPU description (what the processor offers and what the
// operating system enables). Nothing else lives here.
#ifndef CCPUID_H
#define CCPUID_H

#include <stdint.h>

/// The four registers of CPUID leaf `leaf`, sub-leaf `subleaf`. Returns 0 (and zeroes) when
/// the leaf is beyond the processor's highest leaf of its range, or off x86.
int ngplus_cpuid(uint32_t leaf, uint32_t subleaf, uint32_t registers[4]);

/// XCR0, the state components the operating system saves (bit 1 SSE, bit 2 AVX, bits 5–7
/// AVX-512). 0 when OSXSAVE is off, or off x86.
uint64_t ngplus_xgetbv0(void);

#endif
