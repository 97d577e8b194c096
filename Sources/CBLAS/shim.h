// The C interface NGKernels calls: OpenBLAS's CBLAS (with openblas_get_corename and
// friends) and LAPACKE. Nothing else belongs here.
#include <cblas.h>
#include <lapacke.h>
