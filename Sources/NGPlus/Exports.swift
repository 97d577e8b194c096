// NGPlus is used with its kernels: `import NGPlus` brings Matrix, DampingRule, Side and the
// rest of NGKernels too.
@_exported import NGKernels
