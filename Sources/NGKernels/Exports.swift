// The platform the kernels run on — `OpenBLAS`, `KernelFit`, `CPUDescription`,
// `KernelSelection` — comes with `import NGKernels` (and `import NGPlus`).
@_exported import NGPlatform
