// Small matrix products through libxsmm (see CKernels.h, dg_xsmm_sgemm). OpenBLAS packs both operands on
// every call, which for the products of a small batch (the binary VAE's 24 or 48 rows; a 100-row
// layer's narrower products) is a large part of the call; libxsmm generates a kernel for the exact
// shape once (JIT) and runs it without packing. Measured on this project's shapes (results/bench/README.md)
// it is 15-25% faster on those, slower on a matrix-vector product and on 100 x 784 x 512, hence the
// size rule below. Row-major C = op(A)·op(B) is the column-major product Cᵀ = op(B)ᵀ·op(A)ᵀ.
#include "CKernels.h"
#include <libxsmm.h>
#include <pthread.h>

static pthread_once_t xsmm_once = PTHREAD_ONCE_INIT;
static void xsmm_start(void) { libxsmm_init(); }

int dg_xsmm_wanted(int transposeB, long m, long n, long k) {
    // No kernel for a transposed column-major A (our transposed B); below 16 columns the vector lanes
    // run mostly empty; above ~2^25 multiply-adds OpenBLAS's blocking wins.
    return !transposeB && n >= 16 && m >= 1 && k >= 1 && m * n * k <= ((long)1 << 25);
}

int dg_xsmm_sgemm(int transposeA, int transposeB, long m, long n, long k, const float *a, long lda,
                  const float *b, long ldb, float beta, float *c, long ldc) {
    if (!dg_xsmm_wanted(transposeB, m, n, k) || (beta != 0 && beta != 1)) return 0;
    pthread_once(&xsmm_once, xsmm_start);
    const libxsmm_blasint mm = (libxsmm_blasint)n, nn = (libxsmm_blasint)m, kk = (libxsmm_blasint)k;
    const libxsmm_blasint la = (libxsmm_blasint)ldb, lb = (libxsmm_blasint)lda, lc = (libxsmm_blasint)ldc;
    const float alpha = 1;
    const int flags = transposeA ? LIBXSMM_GEMM_FLAG_TRANS_B : LIBXSMM_GEMM_FLAG_NONE;
    const int prefetch = LIBXSMM_PREFETCH_NONE;
    libxsmm_smmfunction kernel = libxsmm_smmdispatch(mm, nn, kk, &la, &lb, &lc, &alpha, &beta, &flags, &prefetch);
    if (!kernel) return 0;
    kernel(b, a, c);
    return 1;
}
