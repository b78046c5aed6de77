// Vectorised array kernels for DiscreteGrad's hot loops: transcendentals through SLEEF (the vector
// math library PyTorch uses), the Bernoulli log-likelihood from logits, and the Adam/RAdam updates.
// Each entry point picks the widest instruction set the CPU has at run time (AVX-512F, AVX2+FMA,
// or portable scalar code), once per process. Every lane computes its element exactly as a lone
// element would be computed, so a result never depends on where in the array (or in which thread's
// slice) an element sits.
#ifndef DISCRETEGRAD_CKERNELS_H
#define DISCRETEGRAD_CKERNELS_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Elementwise functions, y[i] = f(x[i]); x and y may be the same buffer.
typedef enum {
    DG_EXP = 0,
    DG_LOG = 1,
    DG_LOG1P = 2,
    DG_TANH = 3,
    /// 1 / (1 + e^-x), stable in both tails.
    DG_SIGMOID = 4,
    /// log(1 + e^x) = max(x, 0) + log1p(e^-|x|).
    DG_SOFTPLUS = 5,
    /// log sigmoid(x) = min(x, 0) - log1p(e^-|x|).
    DG_LOGSIGMOID = 6,
} dg_unary_op;

void dg_unary_f32(dg_unary_op op, const float *x, float *y, long n);
void dg_unary_f64(dg_unary_op op, const double *x, double *y, long n);

/// Elementwise arithmetic: out[i] = a[i·aStep] op b[i·bStep] for i < n, each step 0 (a scalar, broadcast)
/// or 1. One IEEE operation per element, so every path gives the same bits. out may be a or b.
typedef enum {
    DG_ADD = 0,
    DG_SUB = 1,
    DG_MUL = 2,
    DG_DIV = 3,
} dg_binary_op;

void dg_binary_f32(dg_binary_op op, const float *a, long aStep, const float *b, long bStep, float *out, long n);
void dg_binary_f64(dg_binary_op op, const double *a, long aStep, const double *b, long bStep, double *out, long n);

/// Per row r of a [rows, cols] pair: out[r] = Σ_j softplus(l[r,j]) − t[r,j]·l[r,j]
/// (−log Bernoulli(t | σ(l)) summed over the row).
void dg_bernoulli_nll_f32(const float *logits, const float *targets, float *out, long rows, long cols);
void dg_bernoulli_nll_f64(const double *logits, const double *targets, double *out, long rows, long cols);

/// Its gradient with respect to the logits for an upstream gradient g per row:
/// out[r,j] = (σ(l[r,j]) − t[r,j]) · g[r].
void dg_bernoulli_nll_backward_f32(const float *logits, const float *targets, const float *g, float *out, long rows, long cols);
void dg_bernoulli_nll_backward_f64(const double *logits, const double *targets, const double *g, double *out, long rows, long cols);
/// The backward of the rule above for upstream u [rows, cols], with s = σ(l) as DG_SIGMOID computes it:
/// curvature = ((u·s)·(1 − s))·g[r] (needs g) and residual = u·(s − t) (needs t); a NULL output is skipped.
void dg_sigmoid_curvature_f32(const float *l, const float *u, const float *g, const float *t, float *curvature,
                              float *residual, long rows, long cols);
void dg_sigmoid_curvature_f64(const double *l, const double *u, const double *g, const double *t, double *curvature,
                              double *residual, long rows, long cols);

/// The conditional logistic draw of REBAR/RELAX for logits l, codes b (0/1) and uniforms w in (0, 1), s = 2b − 1,
/// a = s·l: z = s·[(softplus(a) − log w) + log1p(−σ(a)·w)] and jacobian = dz/dl = σ(a) − w·σ(a)(1 − σ(a))/(1 − σ(a)·w).
void dg_conditional_logistic_f32(const float *l, const float *b, const float *w, float *z, float *jacobian, long n);
void dg_conditional_logistic_f64(const double *l, const double *b, const double *w, double *z, double *jacobian, long n);

/// The analytic KL terms of Bernoulli units, logits a [rows, cols] against prior logits p [cols]:
/// out = σ(a)·(log σ(a) − log σ(p)) + (1 − σ(a))·(log σ(−a) − log σ(−p)).
void dg_bernoulli_kl_f32(const float *a, const float *p, float *out, long rows, long cols);
void dg_bernoulli_kl_f64(const double *a, const double *p, double *out, long rows, long cols);

/// Adam (torch.optim.Adam, no weight decay): m ← β₁m + (1−β₁)g; v ← β₂v + (1−β₂)g²;
/// p ← p − stepSize·m / (√v·invSqrtBias2 + ε). No fused multiply-add, so every path rounds alike.
/// Returns 1 if every gradient was finite, 0 if one was NaN or ±inf (the update has run regardless:
/// the trainer then stops the run, so the gradients are checked in the same pass as the update).
int dg_adam_f32(float *p, const float *g, float *m, float *v, long n,
                 float stepSize, float beta1, float beta2, float invSqrtBias2, float epsilon);
int dg_adam_f64(double *p, const double *g, double *m, double *v, long n,
                 double stepSize, double beta1, double beta2, double invSqrtBias2, double epsilon);

/// RAdam (torch.optim.RAdam): the same moments; p ← p − scale·m·r/(√v + ε) when rectified
/// (rectified != 0), else p ← p − scale·m.
int dg_radam_f32(float *p, const float *g, float *m, float *v, long n,
                  float scale, float beta1, float beta2, int rectified, float r, float epsilon);
int dg_radam_f64(double *p, const double *g, double *m, double *v, long n,
                  double scale, double beta1, double beta2, int rectified, double r, double epsilon);

/// The Gumbel-Rao family's K conditional Gumbel draws per row and their softmax mixture, fused (one pass,
/// nothing of size K·rows·C but y). For each row r in [firstRow, lastRow) of `rows` rows of `classes` C:
/// the winner i (the class where code[r] ≠ 0), m = max θ_r, c_j = e^{m − θ_j}, Z' = Σ_j 1/c_j, and K =
/// `samples` draws U ~ Uniform(0, 1) per class, class by class, from the SplitMix64 stream started at
/// seeds[r] (two floats per 64-bit word; one double). With E = −log U (SLEEF's 3.5-ULP log), draw k is
///   z_k,i = m + log Z' − log E_i,   z_k,j = z_k,i − log1p(x_j),   x_j = E_j·c_j·Z'/E_i   (j ≠ i),
/// exactly a draw from p(θ + G | argmax(θ + G) = i) (Maddison et al. 2014), and its tempered softmax is
///   y_k,j = (1 + x_j)^{−1/τ} / Σ_l (1 + x_l)^{−1/τ}   (x_i = 0; τ = 1 is a reciprocal, no exp or log;
///   otherwise exp(−log(1 + x)/τ)).
/// Writes y[r][j][k] (class-major, row stride C·stride, `stride` = K rounded up to 16; lanes k ≥ K hold
/// finite filler) and value[r][j] = Σ_k weights[k]·y_k,j, where `weights` has `stride` entries, zero past
/// K. If z is not NULL, also the draws z[k][r][j] ([K, rows, C], sample-major). A row's result depends
/// only on its seed, so any split of the rows gives the same bits.
void dg_cond_gumbel_mixture_f32(const float *theta, const float *code, const uint64_t *seeds, long rows, long classes,
                                long samples, long stride, const float *weights, float temperature,
                                float *y, float *value, float *z, long firstRow, long lastRow);
void dg_cond_gumbel_mixture_f64(const double *theta, const double *code, const uint64_t *seeds, long rows, long classes,
                                long samples, long stride, const double *weights, double temperature,
                                double *y, double *value, double *z, long firstRow, long lastRow);
/// Its vector-Jacobian product: out[r][j] = (1/τ)·Σ_k weights[k]·y_k,j·(g[r][j] − ⟨g[r], y_k⟩), the
/// softmax Jacobians of the K draws applied to g and mixed, for rows [firstRow, lastRow).
void dg_cond_gumbel_mixture_backward_f32(const float *y, const float *g, long classes, long stride, const float *weights,
                                         float temperature, float *out, long firstRow, long lastRow);
void dg_cond_gumbel_mixture_backward_f64(const double *y, const double *g, long classes, long stride, const double *weights,
                                         double temperature, double *out, long firstRow, long lastRow);

/// A matrix stored by its nonzeros, row by row (compressed sparse rows): row r's nonzeros are
/// value[p] in column index[p] for start[r] ≤ p < start[r + 1].
/// out[r, :] = (accumulate ? out[r, :] : 0) + Σ_p value[p]·dense[index[p], :] for rows [firstRow, lastRow), dense
/// [denseRows, n] and out [rows, n] row-major: a sparse-times-dense product, accumulated onto out or written. Each element is summed in the nonzeros'
/// order with one rounding per product and per sum, so every path and every split of the rows gives the
/// same bits.
void dg_sparse_rows_times_dense_f32(const long *start, const int *index, const float *value, long firstRow, long lastRow,
                                    const float *dense, long denseRows, long n, float *out, int accumulate);
void dg_sparse_rows_times_dense_f64(const long *start, const int *index, const double *value, long firstRow, long lastRow,
                                    const double *dense, long denseRows, long n, double *out, int accumulate);
/// The number of nonzero entries of x[0..<n] (NaN counts as nonzero).
long dg_count_nonzero_f32(const float *x, long n);
long dg_count_nonzero_f64(const double *x, long n);
/// The sparse rows of a dense row-major [rows, cols] matrix: start has rows + 1 entries, index and value
/// room for its nonzeros (dg_count_nonzero) plus one (scratch), in row-major order.
void dg_sparse_rows_from_dense_f32(const float *x, long rows, long cols, long *start, int *index, float *value);
void dg_sparse_rows_from_dense_f64(const double *x, long rows, long cols, long *start, int *index, double *value);
/// The transpose [cols, rows] of a sparse-rows matrix [rows, cols], again by rows (each row's nonzeros in
/// ascending column order): tStart has cols + 1 entries.
void dg_sparse_transpose_f32(const long *start, const int *index, const float *value, long rows, long cols,
                             long *tStart, int *tIndex, float *tValue);
void dg_sparse_transpose_f64(const long *start, const int *index, const double *value, long rows, long cols,
                             long *tStart, int *tIndex, double *tValue);

/// The run's threads (pool.c): `dg_pool_run` calls fn(context, t) once for every t in [0, tasks), each
/// task claimed by whichever thread is free (the caller too), and returns when all are done. Workers spin
/// for about a millisecond between jobs, then sleep. A call made while another job runs (from a task, or
/// from a second thread) runs its tasks in order on the caller, so results never depend on who ran a task
/// as long as each task's result does not.
typedef void (*dg_pool_task)(void *context, long task);
void dg_pool_run(long tasks, dg_pool_task fn, void *context);
/// Threads a job may use, the caller included, at most the CPUs this process may run on (starts workers
/// as needed; 1 runs everything inline). Which thread runs a task never changes its result, so the cap
/// changes speed only.
void dg_pool_set_threads(int threads);
int dg_pool_threads(void);

/// Row-major single-precision C = op(A)·op(B) + beta·C (beta 0 or 1, alpha 1) through a libxsmm kernel
/// generated for the shape (xsmm.c); a transposed B (beta 0, A not transposed, 16–64 rows) as Cᵀ = B·Aᵀ with
/// A and the result transposed. Returns 1 if it ran; 0 (and C untouched) when the shape is outside what
/// libxsmm does better than BLAS (`dg_xsmm_wanted`) or libxsmm has no kernel for it (no JIT on this CPU), so
/// the caller falls back to BLAS.
int dg_xsmm_sgemm(int transposeA, int transposeB, long m, long n, long k, const float *a, long lda,
                  const float *b, long ldb, float beta, float *c, long ldc);
int dg_xsmm_wanted(int transposeA, int transposeB, long m, long n, long k);

/// Which code path the kernels take on this CPU: "avx512f", "avx2" or "scalar".
const char *dg_kernel_isa(void);
/// Makes every kernel take the named path ("avx512f", "avx2", "scalar") from now on, so tests can
/// compare the paths; returns 0 (and changes nothing) if this CPU lacks it. Not for concurrent use.
int dg_kernel_use_isa(const char *name);

#ifdef __cplusplus
}
#endif
#endif
