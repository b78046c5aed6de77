// Small matrix products through libxsmm (see CKernels.h, dg_xsmm_sgemm). OpenBLAS packs both operands on
// every call, which for the products of a small batch (the binary VAE's 24 or 48 rows; a 100-row
// layer's narrower products) is a large part of the call; libxsmm generates a kernel for the exact
// shape once (JIT) and runs it without packing. Measured on this project's shapes (results/bench/README.md)
// it is 15-25% faster on those, slower on a matrix-vector product and on 100 x 784 x 512, hence the
// size rule below. Row-major C = op(A)·op(B) is the column-major product Cᵀ = op(B)ᵀ·op(A)ᵀ.
#include "CKernels.h"
#include <libxsmm.h>
#include <pthread.h>
#include <stdlib.h>

static pthread_once_t xsmm_once = PTHREAD_ONCE_INIT;
static void xsmm_start(void) { libxsmm_init(); }

static int small_enough(long m, long n, long k) {
    // Below 16 columns the vector lanes run mostly empty; above ~2^25 multiply-adds OpenBLAS's blocking wins.
    return n >= 16 && m >= 1 && k >= 1 && m * n * k <= ((long)1 << 25);
}

int dg_xsmm_wanted(int transposeA, int transposeB, long m, long n, long k) {
    if (!transposeB) return small_enough(m, n, k);
    // libxsmm has no kernel for a transposed B (a transposed column-major A). With few rows (a layer's
    // backward dX = dY·Wᵀ on a small batch) the product is taken as Cᵀ = W·Aᵀ instead: A and the result
    // are transposed (both small), W is read as it is stored. Measured on 48·(200×784)ᵀ: OpenBLAS 80 µs,
    // this 59; at 100 rows the result's transpose costs more than the product saves.
    return !transposeA && m <= 64 && m >= 16 && small_enough(n, m, k);
}

// C[m, n] = A[m, k]·B[n, k]ᵀ (beta 0) as Cᵀ = B·Aᵀ: At = Aᵀ [k, m], Ct = B·At [n, m], C = Ctᵀ.
static int transposed_b_product(long m, long n, long k, const float *a, long lda, const float *b, long ldb,
                                float *c, long ldc) {
    const libxsmm_blasint mm = (libxsmm_blasint)m, nn = (libxsmm_blasint)n, kk = (libxsmm_blasint)k;
    const libxsmm_blasint la = mm, lb = (libxsmm_blasint)ldb, lc = mm;
    const float alpha = 1, zero = 0;
    const int flags = LIBXSMM_GEMM_FLAG_NONE, prefetch = LIBXSMM_PREFETCH_NONE;
    libxsmm_smmfunction kernel = libxsmm_smmdispatch(mm, nn, kk, &la, &lb, &lc, &alpha, &zero, &flags, &prefetch);
    if (!kernel) return 0;
    float *at = aligned_alloc(64, sizeof(float) * (size_t)((k * m + 15) / 16 * 16));
    float *ct = aligned_alloc(64, sizeof(float) * (size_t)((n * m + 15) / 16 * 16));
    if (!at || !ct) abort();
    // Column-major terms: A is k x m (leading dimension lda), At m x k; Ct is m x n, C n x m (ldc).
    libxsmm_otrans(at, a, sizeof(float), (libxsmm_blasint)k, mm, (libxsmm_blasint)lda, mm);
    kernel(at, b, ct);
    libxsmm_otrans(c, ct, sizeof(float), mm, nn, mm, (libxsmm_blasint)ldc);
    free(at);
    free(ct);
    return 1;
}

int dg_xsmm_sgemm(int transposeA, int transposeB, long m, long n, long k, const float *a, long lda,
                  const float *b, long ldb, float beta, float *c, long ldc) {
    if (!dg_xsmm_wanted(transposeA, transposeB, m, n, k) || (beta != 0 && beta != 1)) return 0;
    pthread_once(&xsmm_once, xsmm_start);
    if (transposeB) return beta == 0 ? transposed_b_product(m, n, k, a, lda, b, ldb, c, ldc) : 0;
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
