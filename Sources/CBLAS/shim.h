// The BLAS at the edge. Which library is linked is a build option (Package.swift: SMTL_BLAS names
// its pkg-config package; OpenBLAS by default). Everything smtl calls is standard CBLAS, plus
// three library-specific calls wrapped here under neutral names: threads, library and kernel.
// The C library's headers first, with the default feature macros: BLIS's cblas.h defines
// _POSIX_C_SOURCE before including them, which would give `struct tm` another shape in this module
// than in Glibc's ("'tm::__tm_zone' from module 'CBLAS' is not present in ... 'SwiftGlibc'").
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <math.h>
#include <time.h>
#include <pthread.h>
#include <cblas.h>

#if defined(OPENBLAS_VERSION)
static inline void smtl_blas_set_threads(int n) { openblas_set_num_threads(n); }
static inline const char *smtl_blas_library(void) { return "OpenBLAS"; }
static inline const char *smtl_blas_kernel(void) { return openblas_get_corename(); }
static inline const char *smtl_blas_config(void) { return openblas_get_config(); }
#elif defined(BLIS_SYSTEM_H)
// BLIS: its cblas.h is self-contained; blis.h is not included (the OpenMP flavour's needs omp.h,
// which the Swift compiler's clang does not have), so the three calls are declared here
// (dim_t is int64_t, arch_t an enum passed as int).
#include <stdint.h>
extern void bli_thread_set_num_threads(int64_t n);
extern int bli_arch_query_id(void);
extern char *bli_arch_string(int id);
static inline void smtl_blas_set_threads(int n) { bli_thread_set_num_threads((int64_t)n); }
static inline const char *smtl_blas_library(void) { return "BLIS"; }
static inline const char *smtl_blas_kernel(void) { return bli_arch_string(bli_arch_query_id()); }
static inline const char *smtl_blas_config(void) { return 0; }
#else
static inline void smtl_blas_set_threads(int n) { (void)n; }
static inline const char *smtl_blas_library(void) { return "CBLAS"; }
static inline const char *smtl_blas_kernel(void) { return "unknown"; }
static inline const char *smtl_blas_config(void) { return 0; }
#endif
