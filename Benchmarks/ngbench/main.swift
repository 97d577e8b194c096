// Every ngbench command runs on the OpenBLAS kernels that fit this CPU: when the ones OpenBLAS
// detected are a fallback and the user has not set OPENBLAS_CORETYPE, this re-executes
// ngbench with the fitting core after a self-check of it (KernelSelection), before any work.
_ = BenchKernels.selection
NGBench.main()
