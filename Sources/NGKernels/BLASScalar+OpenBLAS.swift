import CBLAS

/// Float binds `BLASScalar` to OpenBLAS's `cblas_s*` and LAPACKE's `LAPACKE_s*_work` routines.
extension Float: BLASScalar {
    public static let blasRoutines = BLASRoutines<Float>(
        gemm: cblas_sgemm, syrk: cblas_ssyrk, symm: cblas_ssymm, trsm: cblas_strsm,
        axpy: cblas_saxpy, scal: cblas_sscal, nrm2: cblas_snrm2, dot: cblas_sdot,
        potrf: LAPACKE_spotrf_work, potri: LAPACKE_spotri_work, potrs: LAPACKE_spotrs_work,
        syevd: LAPACKE_ssyevd_work)
}

/// Double binds `BLASScalar` to OpenBLAS's `cblas_d*` and LAPACKE's `LAPACKE_d*_work` routines.
extension Double: BLASScalar {
    public static let blasRoutines = BLASRoutines<Double>(
        gemm: cblas_dgemm, syrk: cblas_dsyrk, symm: cblas_dsymm, trsm: cblas_dtrsm,
        axpy: cblas_daxpy, scal: cblas_dscal, nrm2: cblas_dnrm2, dot: cblas_ddot,
        potrf: LAPACKE_dpotrf_work, potri: LAPACKE_dpotri_work, potrs: LAPACKE_dpotrs_work,
        syevd: LAPACKE_dsyevd_work)
}
