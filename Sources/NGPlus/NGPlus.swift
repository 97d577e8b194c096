@_exported import NGKernels
