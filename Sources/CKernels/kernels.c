// See CKernels.h. Vector paths are written once, as macros over the element type, lane count,
// instruction set and SLEEF's functions for it, and instantiated for AVX-512F and AVX2+FMA; the
// scalar path uses libm. The path is chosen once per process from the CPU (cpuid), and can be
// lowered for testing with DISCRETEGRAD_ISA=avx2|scalar.
#include "CKernels.h"
#include <immintrin.h>
#include <math.h>
#include <sleef.h>  // scalar entry points; its vector prototypes sit behind -mavx* guards, hence:

// SLEEF's AVX-512F and AVX2 functions, declared here because sleef.h only declares them when the whole
// file is compiled for those instruction sets; this file enables them per function instead.
#define SLEEF_DECLARE(VT, NAME, TARGET) __attribute__((target(TARGET))) extern VT NAME(VT);
#define SLEEF_FAMILY(VT, SUFFIX, TARGET)                                                                \
    SLEEF_DECLARE(VT, Sleef_exp##SUFFIX, TARGET) SLEEF_DECLARE(VT, Sleef_log##SUFFIX, TARGET)          \
    SLEEF_DECLARE(VT, Sleef_log1p##SUFFIX, TARGET) SLEEF_DECLARE(VT, Sleef_tanh##SUFFIX, TARGET)
SLEEF_FAMILY(__m512, f16_u10avx512f, "avx512f")
SLEEF_FAMILY(__m512d, d8_u10avx512f, "avx512f")
SLEEF_FAMILY(__m256, f8_u10avx2, "avx2,fma")
SLEEF_FAMILY(__m256d, d4_u10avx2, "avx2,fma")
// The 3.5-ULP logarithms, for the conditional Gumbel draws (noise, where 1 ULP buys nothing).
SLEEF_DECLARE(__m512, Sleef_logf16_u35avx512f, "avx512f") SLEEF_DECLARE(__m512d, Sleef_logd8_u35avx512f, "avx512f")
SLEEF_DECLARE(__m256, Sleef_logf8_u35avx2, "avx2,fma") SLEEF_DECLARE(__m256d, Sleef_logd4_u35avx2, "avx2,fma")
#include <stdlib.h>
#include <string.h>

// Every path rounds each operation on its own: no contraction into fused multiply-adds, so the
// optimizer updates give the same bits on every path and as the plain Swift loops did.
#pragma clang fp contract(off)

enum { ISA_SCALAR = 0, ISA_AVX2 = 1, ISA_AVX512 = 2 };

static volatile int forced = -1;  // set by dg_kernel_use_isa (tests)

static int isa_level(void) {
    if (forced >= 0) return forced;
    static volatile int level = -1;  // idempotent: a race computes the same value twice
    if (level < 0) {
        __builtin_cpu_init();
        int best = __builtin_cpu_supports("avx512f") ? ISA_AVX512
                 : (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) ? ISA_AVX2 : ISA_SCALAR;
        const char *cap = getenv("DISCRETEGRAD_ISA");
        if (cap && strcmp(cap, "scalar") == 0) best = ISA_SCALAR;
        else if (cap && strcmp(cap, "avx2") == 0 && best > ISA_AVX2) best = ISA_AVX2;
        level = best;
    }
    return level;
}

int dg_kernel_use_isa(const char *name) {
    int want = strcmp(name, "avx512f") == 0 ? ISA_AVX512 : strcmp(name, "avx2") == 0 ? ISA_AVX2
             : strcmp(name, "scalar") == 0 ? ISA_SCALAR : -1;
    if (want < 0) return 0;
    __builtin_cpu_init();
    int supported = want == ISA_SCALAR
                 || (want == ISA_AVX2 && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
                 || (want == ISA_AVX512 && __builtin_cpu_supports("avx512f"));
    if (!supported) return 0;
    (void)isa_level();
    forced = want;
    return 1;
}

const char *dg_kernel_isa(void) {
    switch (isa_level()) {
    case ISA_AVX512: return "avx512f";
    case ISA_AVX2: return "avx2";
    default: return "scalar";
    }
}

// MARK: - Scalar reference path (libm)

#define SCALAR_FUNCS(T, EXP, LOG, LOG1P, TANH, FABS)                                                 \
    static inline T scalar_apply_##T(dg_unary_op op, T x) {                                          \
        switch (op) {                                                                               \
        case DG_EXP: return EXP(x);                                                                 \
        case DG_LOG: return LOG(x);                                                                 \
        case DG_LOG1P: return LOG1P(x);                                                             \
        case DG_TANH: return TANH(x);                                                               \
        case DG_SIGMOID: {                                                                          \
            T e = EXP(-FABS(x));                                                                    \
            T r = (T)1 / ((T)1 + e);                                                                \
            return x >= 0 ? r : e * r;                                                              \
        }                                                                                           \
        case DG_SOFTPLUS: return (x > 0 ? x : (T)0) + LOG1P(EXP(-FABS(x)));                          \
        case DG_LOGSIGMOID: return (x < 0 ? x : (T)0) - LOG1P(EXP(-FABS(x)));                        \
        }                                                                                           \
        return x;                                                                                   \
    }
SCALAR_FUNCS(float, expf, logf, log1pf, tanhf, fabsf)
SCALAR_FUNCS(double, exp, log, log1p, tanh, fabs)

// MARK: - Scalar path bodies (also the tails of the vector optimizer loops)

#define SCALAR_PATH(T, SQRT)                                                                            \
    static void unary_scalar_##T(dg_unary_op op, const T *x, T *y, long n) {                            \
        for (long i = 0; i < n; i++) y[i] = scalar_apply_##T(op, x[i]);                                 \
    }                                                                                                   \
    static void bernoulli_nll_scalar_##T(const T *l, const T *t, T *out, long rows, long cols) {        \
        for (long r = 0; r < rows; r++) {                                                               \
            T total = 0;                                                                                \
            for (long j = 0; j < cols; j++) {                                                           \
                T x = l[r * cols + j];                                                                  \
                total += scalar_apply_##T(DG_SOFTPLUS, x) - t[r * cols + j] * x;                        \
            }                                                                                           \
            out[r] = total;                                                                             \
        }                                                                                               \
    }                                                                                                   \
    static void bernoulli_nll_backward_scalar_##T(const T *l, const T *t, const T *g, T *out, long rows, long cols) { \
        for (long r = 0; r < rows; r++)                                                                 \
            for (long j = 0; j < cols; j++)                                                             \
                out[r * cols + j] = (scalar_apply_##T(DG_SIGMOID, l[r * cols + j]) - t[r * cols + j]) * g[r]; \
    }                                                                                                   \
    static int adam_scalar_##T(T *p, const T *g, T *m, T *v, long n, T stepSize, T beta1, T beta2,      \
                               T invSqrtBias2, T eps) {                                                 \
        const T c1 = 1 - beta1, c2 = 1 - beta2;                                                         \
        int ok = 1;                                                                                     \
        for (long i = 0; i < n; i++) {                                                                  \
            T gi = g[i], mi = beta1 * m[i] + c1 * gi, vi = beta2 * v[i] + c2 * gi * gi;                 \
            m[i] = mi; v[i] = vi;                                                                       \
            p[i] -= stepSize * mi / (SQRT(vi) * invSqrtBias2 + eps);                                    \
            ok &= gi * 0 == 0;                                                                          \
        }                                                                                               \
        return ok;                                                                                      \
    }                                                                                                   \
    static int radam_scalar_##T(T *p, const T *g, T *m, T *v, long n, T scale, T beta1, T beta2,        \
                                int rectified, T rr, T eps) {                                           \
        const T c1 = 1 - beta1, c2 = 1 - beta2;                                                         \
        int ok = 1;                                                                                     \
        for (long i = 0; i < n; i++) {                                                                  \
            T gi = g[i], mi = beta1 * m[i] + c1 * gi, vi = beta2 * v[i] + c2 * gi * gi;                 \
            m[i] = mi; v[i] = vi;                                                                       \
            if (rectified) p[i] -= scale * mi * rr / (SQRT(vi) + eps);                                  \
            else p[i] -= scale * mi;                                                                    \
            ok &= gi * 0 == 0;                                                                          \
        }                                                                                               \
        return ok;                                                                                      \
    }
SCALAR_PATH(float, sqrtf)
SCALAR_PATH(double, sqrt)

// MARK: - Vector paths

// V: vector of T with W lanes; M: same-size integer vector (comparison results, all-ones or zero lanes).
#define SEL(M, m, a, b) ((__typeof__(a))((((M)(a)) & (m)) | (((M)(b)) & ~(m))))

#define VECTOR_PATH(SUF, T, W, IT, TARGET, VEXP, VLOG, VLOG1P, VTANH, VSQRT, NLL_LOG1P)                 \
    typedef T V_##SUF __attribute__((vector_size(sizeof(T) * W)));                                     \
    typedef IT M_##SUF __attribute__((vector_size(sizeof(T) * W)));                                    \
                                                                                                        \
    __attribute__((target(TARGET))) static inline V_##SUF load_##SUF(const T *p) {                     \
        V_##SUF v; memcpy(&v, p, sizeof v); return v;                                                  \
    }                                                                                                   \
    __attribute__((target(TARGET))) static inline void store_##SUF(T *p, V_##SUF v) { memcpy(p, &v, sizeof v); } \
    __attribute__((target(TARGET))) static inline V_##SUF splat_##SUF(T s) {                           \
        V_##SUF v; for (int k = 0; k < W; k++) v[k] = s; return v;                                     \
    }                                                                                                   \
    __attribute__((target(TARGET))) static inline V_##SUF apply_##SUF(dg_unary_op op, V_##SUF x) {     \
        const V_##SUF zero = splat_##SUF(0), one = splat_##SUF(1);                                    \
        M_##SUF negative = x < zero;                                                                    \
        V_##SUF absx = SEL(M_##SUF, negative, -x, x);                                                  \
        switch (op) {                                                                                   \
        case DG_EXP: return VEXP(x);                                                                    \
        case DG_LOG: return VLOG(x);                                                                    \
        case DG_LOG1P: return VLOG1P(x);                                                                \
        case DG_TANH: return VTANH(x);                                                                  \
        case DG_SIGMOID: {                                                                              \
            V_##SUF e = VEXP(-absx);                                                                    \
            V_##SUF r = one / (one + e);                                                                \
            return SEL(M_##SUF, negative, e * r, r);                                                    \
        }                                                                                               \
        case DG_SOFTPLUS:                                                                               \
            return SEL(M_##SUF, x > zero, x, zero) + VLOG1P(VEXP(-absx));                              \
        case DG_LOGSIGMOID:                                                                             \
            return SEL(M_##SUF, negative, x, zero) - VLOG1P(VEXP(-absx));                              \
        }                                                                                               \
        return x;                                                                                       \
    }                                                                                                   \
    /* The tail goes through the same vector code on a padded copy (pad 1: finite for every op). */   \
    __attribute__((target(TARGET))) static void unary_##SUF(dg_unary_op op, const T *x, T *y, long n) { \
        long i = 0;                                                                                     \
        for (; i + W <= n; i += W) store_##SUF(y + i, apply_##SUF(op, load_##SUF(x + i)));            \
        if (i < n) {                                                                                    \
            T buffer[W];                                                                                \
            for (int k = 0; k < W; k++) buffer[k] = i + k < n ? x[i + k] : (T)1;                        \
            V_##SUF r = apply_##SUF(op, load_##SUF(buffer));                                            \
            for (int k = 0; i + k < n; k++) y[i + k] = r[k];                                            \
        }                                                                                               \
    }                                                                                                   \
    __attribute__((target(TARGET))) static inline V_##SUF nll_terms_##SUF(V_##SUF l, V_##SUF t) {      \
        const V_##SUF zero = splat_##SUF(0);                                                            \
        V_##SUF absl = SEL(M_##SUF, l < zero, -l, l);                                                   \
        return SEL(M_##SUF, l > zero, l, zero) + NLL_LOG1P(VEXP(-absl)) - t * l;                       \
    }                                                                                                   \
    __attribute__((target(TARGET))) static void bernoulli_nll_##SUF(const T *l, const T *t, T *out,    \
                                                                     long rows, long cols) {            \
        for (long r = 0; r < rows; r++) {                                                               \
            const T *lr = l + r * cols, *tr = t + r * cols;                                             \
            V_##SUF acc = splat_##SUF(0);                                                               \
            long j = 0;                                                                                 \
            for (; j + W <= cols; j += W) acc += nll_terms_##SUF(load_##SUF(lr + j), load_##SUF(tr + j)); \
            T total = 0;                                                                                \
            for (int k = 0; k < W; k++) total += acc[k];                                                \
            if (j < cols) {                                                                             \
                T lb[W], tb[W];                                                                         \
                for (int k = 0; k < W; k++) { lb[k] = j + k < cols ? lr[j + k] : 0; tb[k] = j + k < cols ? tr[j + k] : 0; } \
                V_##SUF rest = nll_terms_##SUF(load_##SUF(lb), load_##SUF(tb));                        \
                for (int k = 0; j + k < cols; k++) total += rest[k];                                    \
            }                                                                                           \
            out[r] = total;                                                                             \
        }                                                                                               \
    }                                                                                                   \
    __attribute__((target(TARGET))) static void bernoulli_nll_backward_##SUF(                          \
        const T *l, const T *t, const T *g, T *out, long rows, long cols) {                             \
        for (long r = 0; r < rows; r++) {                                                               \
            const T *lr = l + r * cols, *tr = t + r * cols;                                             \
            T *o = out + r * cols;                                                                      \
            V_##SUF gv = splat_##SUF(g[r]);                                                             \
            long j = 0;                                                                                 \
            for (; j + W <= cols; j += W)                                                               \
                store_##SUF(o + j, (apply_##SUF(DG_SIGMOID, load_##SUF(lr + j)) - load_##SUF(tr + j)) * gv); \
            if (j < cols) {                                                                             \
                T lb[W], tb[W];                                                                         \
                for (int k = 0; k < W; k++) { lb[k] = j + k < cols ? lr[j + k] : 0; tb[k] = j + k < cols ? tr[j + k] : 0; } \
                V_##SUF rest = (apply_##SUF(DG_SIGMOID, load_##SUF(lb)) - load_##SUF(tb)) * gv;        \
                for (int k = 0; j + k < cols; k++) o[j + k] = rest[k];                                  \
            }                                                                                           \
        }                                                                                               \
    }                                                                                                   \
    __attribute__((target(TARGET))) static int adam_##SUF(T *p, const T *g, T *m, T *v, long n,        \
                                                           T stepSize, T beta1, T beta2, T invSqrtBias2, T eps) { \
        const T c1 = 1 - beta1, c2 = 1 - beta2;                                                         \
        const V_##SUF b1v = splat_##SUF(beta1), b2v = splat_##SUF(beta2), c1v = splat_##SUF(c1),        \
                      c2v = splat_##SUF(c2), sv = splat_##SUF(stepSize), iv = splat_##SUF(invSqrtBias2), \
                      ev = splat_##SUF(eps);                                                           \
        V_##SUF finite = splat_##SUF(0);  /* g·0: NaN exactly where g is NaN or ±inf */                 \
        long i = 0;                                                                                     \
        for (; i + W <= n; i += W) {                                                                    \
            V_##SUF gi = load_##SUF(g + i);                                                             \
            V_##SUF mi = b1v * load_##SUF(m + i) + c1v * gi;                                            \
            V_##SUF vi = b2v * load_##SUF(v + i) + c2v * gi * gi;                                       \
            store_##SUF(m + i, mi);                                                                     \
            store_##SUF(v + i, vi);                                                                     \
            store_##SUF(p + i, load_##SUF(p + i) - sv * mi / (VSQRT(vi) * iv + ev));                    \
            finite += gi * splat_##SUF(0);                                                              \
        }                                                                                               \
        int ok = 1;                                                                                     \
        for (int k = 0; k < W; k++) ok &= finite[k] == 0;                                               \
        /* The tail: the scalar path's loop (same roundings, so the same bits). */                      \
        return adam_scalar_##T(p + i, g + i, m + i, v + i, n - i, stepSize, beta1, beta2, invSqrtBias2, eps) & ok; \
    }                                                                                                   \
    __attribute__((target(TARGET))) static int radam_##SUF(T *p, const T *g, T *m, T *v, long n,       \
                                                            T scale, T beta1, T beta2, int rectified, T rr, T eps) { \
        const T c1 = 1 - beta1, c2 = 1 - beta2;                                                         \
        const V_##SUF b1v = splat_##SUF(beta1), b2v = splat_##SUF(beta2), c1v = splat_##SUF(c1),        \
                      c2v = splat_##SUF(c2), sv = splat_##SUF(scale), rv = splat_##SUF(rr), ev = splat_##SUF(eps); \
        V_##SUF finite = splat_##SUF(0);                                                                \
        long i = 0;                                                                                     \
        for (; i + W <= n; i += W) {                                                                    \
            V_##SUF gi = load_##SUF(g + i);                                                             \
            V_##SUF mi = b1v * load_##SUF(m + i) + c1v * gi;                                            \
            V_##SUF vi = b2v * load_##SUF(v + i) + c2v * gi * gi;                                       \
            store_##SUF(m + i, mi);                                                                     \
            store_##SUF(v + i, vi);                                                                     \
            if (rectified) store_##SUF(p + i, load_##SUF(p + i) - sv * mi * rv / (VSQRT(vi) + ev));     \
            else store_##SUF(p + i, load_##SUF(p + i) - sv * mi);                                       \
            finite += gi * splat_##SUF(0);                                                              \
        }                                                                                               \
        int ok = 1;                                                                                     \
        for (int k = 0; k < W; k++) ok &= finite[k] == 0;                                               \
        return radam_scalar_##T(p + i, g + i, m + i, v + i, n - i, scale, beta1, beta2, rectified, rr, eps) & ok; \
    }

// The Bernoulli NLL's softplus needs log1p(e) for e = exp(−|l|) in (0, 1]. In single precision it takes
// log(1 + e) with SLEEF's 3.5-ulp log: 1 + e rounds by at most 6e-8 and the log adds ≤ 3.5 ulp of a value
// ≤ log 2, so each term is within 1e-7 absolute (tested), below the rounding of a row sum of 784 terms
// of size ~0.1–10, at 40% of the time of log1p's 1-ulp version (REBAR evaluates it on 56K elements a
// step). Double keeps log1p.
#define NLL_LOG1P_F16(e) Sleef_logf16_u35avx512f((e) + 1)
#define NLL_LOG1P_F8(e) Sleef_logf8_u35avx2((e) + 1)
VECTOR_PATH(f512, float, 16, int, "avx512f", Sleef_expf16_u10avx512f, Sleef_logf16_u10avx512f,
            Sleef_log1pf16_u10avx512f, Sleef_tanhf16_u10avx512f, _mm512_sqrt_ps, NLL_LOG1P_F16)
VECTOR_PATH(d512, double, 8, long long, "avx512f", Sleef_expd8_u10avx512f, Sleef_logd8_u10avx512f,
            Sleef_log1pd8_u10avx512f, Sleef_tanhd8_u10avx512f, _mm512_sqrt_pd, Sleef_log1pd8_u10avx512f)
VECTOR_PATH(f256, float, 8, int, "avx2,fma", Sleef_expf8_u10avx2, Sleef_logf8_u10avx2,
            Sleef_log1pf8_u10avx2, Sleef_tanhf8_u10avx2, _mm256_sqrt_ps, NLL_LOG1P_F8)
VECTOR_PATH(d256, double, 4, long long, "avx2,fma", Sleef_expd4_u10avx2, Sleef_logd4_u10avx2,
            Sleef_log1pd4_u10avx2, Sleef_tanhd4_u10avx2, _mm256_sqrt_pd, Sleef_log1pd4_u10avx2)

// The backward of the Bernoulli NLL gradient (σ(l) − t)·g in one pass, s = σ(l) as the sigmoid kernel
// computes it: curvature = ((u·s)·(1 − s))·g[r] and residual = u·(s − t), each skipped when its pointer is
// NULL. The same IEEE operations in the same order as the composition of single ops, so the same bits.
#define CURVATURE_PATH(SUF, T, W, TARGET)                                                               \
    __attribute__((target(TARGET))) static inline void curvature_terms_##SUF(                          \
        const T *l, const T *u, const T *t, T gr, T *curvature, T *residual, long j, long n) {         \
        const V_##SUF one = splat_##SUF(1);                                                             \
        T lb[W], ub[W], tb[W];                                                                          \
        for (int k = 0; k < W; k++) {                                                                   \
            lb[k] = j + k < n ? l[j + k] : (T)1; ub[k] = j + k < n ? u[j + k] : 0;                      \
            tb[k] = t && j + k < n ? t[j + k] : 0;                                                      \
        }                                                                                               \
        V_##SUF s = apply_##SUF(DG_SIGMOID, load_##SUF(lb)), uv = load_##SUF(ub);                       \
        V_##SUF c = ((uv * s) * (one - s)) * splat_##SUF(gr), r = uv * (s - load_##SUF(tb));            \
        for (int k = 0; k < W && j + k < n; k++) {                                                      \
            if (curvature) curvature[j + k] = c[k];                                                     \
            if (residual) residual[j + k] = r[k];                                                       \
        }                                                                                               \
    }                                                                                                   \
    __attribute__((target(TARGET))) static void sigmoid_curvature_##SUF(                               \
        const T *l, const T *u, const T *g, const T *t, T *curvature, T *residual, long rows, long cols) { \
        const V_##SUF one = splat_##SUF(1);                                                             \
        for (long r = 0; r < rows; r++) {                                                               \
            const T *lr = l + r * cols, *ur = u + r * cols, *tr = t ? t + r * cols : NULL;              \
            T *cr = curvature ? curvature + r * cols : NULL, *rr = residual ? residual + r * cols : NULL; \
            T gr = g ? g[r] : 0;                                                                        \
            V_##SUF gv = splat_##SUF(gr);                                                               \
            long j = 0;                                                                                 \
            for (; j + W <= cols; j += W) {                                                             \
                V_##SUF s = apply_##SUF(DG_SIGMOID, load_##SUF(lr + j)), uv = load_##SUF(ur + j);       \
                if (cr) store_##SUF(cr + j, ((uv * s) * (one - s)) * gv);                               \
                if (rr) store_##SUF(rr + j, uv * (s - load_##SUF(tr + j)));                             \
            }                                                                                           \
            if (j < cols) curvature_terms_##SUF(lr, ur, tr, gr, cr, rr, j, cols);                       \
        }                                                                                               \
    }
CURVATURE_PATH(f512, float, 16, "avx512f")
CURVATURE_PATH(d512, double, 8, "avx512f")
CURVATURE_PATH(f256, float, 8, "avx2,fma")
CURVATURE_PATH(d256, double, 4, "avx2,fma")
#define CURVATURE_SCALAR(T)                                                                             \
    static void sigmoid_curvature_scalar_##T(const T *l, const T *u, const T *g, const T *t, T *curvature, \
                                             T *residual, long rows, long cols) {                       \
        for (long r = 0; r < rows; r++)                                                                 \
            for (long j = 0; j < cols; j++) {                                                           \
                long i = r * cols + j;                                                                  \
                T s = scalar_apply_##T(DG_SIGMOID, l[i]);                                               \
                if (curvature) curvature[i] = ((u[i] * s) * (1 - s)) * g[r];                            \
                if (residual) residual[i] = u[i] * (s - t[i]);                                          \
            }                                                                                           \
    }
CURVATURE_SCALAR(float)
CURVATURE_SCALAR(double)

// The conditional logistic draw z̃ = s·[(softplus(a) − log w) + log1p(−σ(a)·w)], a = s·l, s = 2b − 1 (see
// Variable.conditionalLogistic), with the same operations in the same order as those single ops, and its
// derivative dz̃/dl = σ(a) − w·σ(a)(1 − σ(a)) / (1 − σ(a)·w) beside it.
#define CONDITIONAL_LOGISTIC_TERMS(SUF, V, L, B, WV, Z, J)                                               \
    do {                                                                                                \
        const V one_ = splat_##SUF(1), two_ = splat_##SUF(2);                                          \
        V sign_ = (B) * two_ - one_, a_ = sign_ * (L);                                                  \
        V s_ = apply_##SUF(DG_SIGMOID, a_), t_ = s_ * (WV);                                             \
        V z_ = (apply_##SUF(DG_SOFTPLUS, a_) - apply_##SUF(DG_LOG, (WV))) + apply_##SUF(DG_LOG1P, -t_); \
        (Z) = sign_ * z_;                                                                               \
        (J) = s_ - ((WV) * (s_ * (one_ - s_))) / (one_ - t_);                                           \
    } while (0)
#define CONDITIONAL_LOGISTIC_PATH(SUF, T, W, TARGET)                                                    \
    __attribute__((target(TARGET))) static void conditional_logistic_##SUF(                            \
        const T *l, const T *b, const T *w, T *z, T *jacobian, long n) {                                \
        long i = 0;                                                                                     \
        for (; i + W <= n; i += W) {                                                                    \
            V_##SUF zv, jv;                                                                             \
            CONDITIONAL_LOGISTIC_TERMS(SUF, V_##SUF, load_##SUF(l + i), load_##SUF(b + i), load_##SUF(w + i), zv, jv); \
            store_##SUF(z + i, zv); store_##SUF(jacobian + i, jv);                                      \
        }                                                                                               \
        if (i < n) {                                                                                    \
            T lb[W], bb[W], wb[W];                                                                      \
            for (int k = 0; k < W; k++) {                                                               \
                lb[k] = i + k < n ? l[i + k] : 0; bb[k] = i + k < n ? b[i + k] : 1;                     \
                wb[k] = i + k < n ? w[i + k] : (T)0.5;                                                  \
            }                                                                                           \
            V_##SUF zv, jv;                                                                             \
            CONDITIONAL_LOGISTIC_TERMS(SUF, V_##SUF, load_##SUF(lb), load_##SUF(bb), load_##SUF(wb), zv, jv); \
            for (int k = 0; i + k < n; k++) { z[i + k] = zv[k]; jacobian[i + k] = jv[k]; }             \
        }                                                                                               \
    }
CONDITIONAL_LOGISTIC_PATH(f512, float, 16, "avx512f")
CONDITIONAL_LOGISTIC_PATH(d512, double, 8, "avx512f")
CONDITIONAL_LOGISTIC_PATH(f256, float, 8, "avx2,fma")
CONDITIONAL_LOGISTIC_PATH(d256, double, 4, "avx2,fma")
#define CONDITIONAL_LOGISTIC_SCALAR(T)                                                                  \
    static void conditional_logistic_scalar_##T(const T *l, const T *b, const T *w, T *z, T *jacobian, long n) { \
        for (long i = 0; i < n; i++) {                                                                  \
            T sign = b[i] * 2 - 1, a = sign * l[i];                                                     \
            T s = scalar_apply_##T(DG_SIGMOID, a), t = s * w[i];                                        \
            T zz = (scalar_apply_##T(DG_SOFTPLUS, a) - scalar_apply_##T(DG_LOG, w[i])) + scalar_apply_##T(DG_LOG1P, -t); \
            z[i] = sign * zz;                                                                           \
            jacobian[i] = s - (w[i] * (s * (1 - s))) / (1 - t);                                         \
        }                                                                                               \
    }
CONDITIONAL_LOGISTIC_SCALAR(float)
CONDITIONAL_LOGISTIC_SCALAR(double)

// Per unit of a [rows, cols] batch of Bernoulli logits a against prior logits p [cols]: the analytic KL term
// q·(log σ(a) − log σ(p)) + (1 − q)·(log σ(−a) − log σ(−p)), q = σ(a), with the same operations in the same
// order as the composition of single ops (so the same bits).
#define BERNOULLI_KL_TERMS(SUF, V, A, P)                                                                \
    ({                                                                                                  \
        const V one_ = splat_##SUF(1);                                                                  \
        V q_ = apply_##SUF(DG_SIGMOID, (A));                                                            \
        V t1_ = apply_##SUF(DG_LOGSIGMOID, (A)) - apply_##SUF(DG_LOGSIGMOID, (P));                      \
        V t4_ = apply_##SUF(DG_LOGSIGMOID, -(A)) - apply_##SUF(DG_LOGSIGMOID, -(P));                    \
        q_ * t1_ + (one_ - q_) * t4_;                                                                   \
    })
#define BERNOULLI_KL_PATH(SUF, T, W, TARGET)                                                            \
    __attribute__((target(TARGET))) static void bernoulli_kl_##SUF(const T *a, const T *p, T *out, long rows, long cols) { \
        for (long r = 0; r < rows; r++) {                                                               \
            const T *ar = a + r * cols;                                                                 \
            T *o = out + r * cols;                                                                      \
            long j = 0;                                                                                 \
            for (; j + W <= cols; j += W) store_##SUF(o + j, BERNOULLI_KL_TERMS(SUF, V_##SUF, load_##SUF(ar + j), load_##SUF(p + j))); \
            if (j < cols) {                                                                             \
                T ab[W], pb[W];                                                                         \
                for (int k = 0; k < W; k++) { ab[k] = j + k < cols ? ar[j + k] : 0; pb[k] = j + k < cols ? p[j + k] : 0; } \
                V_##SUF rest = BERNOULLI_KL_TERMS(SUF, V_##SUF, load_##SUF(ab), load_##SUF(pb));        \
                for (int k = 0; j + k < cols; k++) o[j + k] = rest[k];                                  \
            }                                                                                           \
        }                                                                                               \
    }
BERNOULLI_KL_PATH(f512, float, 16, "avx512f")
BERNOULLI_KL_PATH(d512, double, 8, "avx512f")
BERNOULLI_KL_PATH(f256, float, 8, "avx2,fma")
BERNOULLI_KL_PATH(d256, double, 4, "avx2,fma")
#define BERNOULLI_KL_SCALAR(T)                                                                          \
    static void bernoulli_kl_scalar_##T(const T *a, const T *p, T *out, long rows, long cols) {         \
        for (long r = 0; r < rows; r++)                                                                 \
            for (long j = 0; j < cols; j++) {                                                           \
                T x = a[r * cols + j], q = scalar_apply_##T(DG_SIGMOID, x);                             \
                T t1 = scalar_apply_##T(DG_LOGSIGMOID, x) - scalar_apply_##T(DG_LOGSIGMOID, p[j]);      \
                T t4 = scalar_apply_##T(DG_LOGSIGMOID, -x) - scalar_apply_##T(DG_LOGSIGMOID, -p[j]);    \
                out[r * cols + j] = q * t1 + (1 - q) * t4;                                              \
            }                                                                                           \
    }
BERNOULLI_KL_SCALAR(float)
BERNOULLI_KL_SCALAR(double)


// Elementwise arithmetic, out[i] = a[i·aStep] op b[i·bStep] with steps 0 (a broadcast scalar) or 1: one
// IEEE operation per element, so every path gives the same bits.
#define BINARY_LOOP(SUF, W, OP)                                                                         \
    do {                                                                                                \
        long i = 0;                                                                                     \
        if (as && bs) {                                                                                 \
            for (; i + W <= n; i += W) store_##SUF(out + i, load_##SUF(a + i) OP load_##SUF(b + i));     \
            for (; i < n; i++) out[i] = a[i] OP b[i];                                                   \
        } else if (as) {                                                                                \
            V_##SUF s = splat_##SUF(b[0]);                                                              \
            for (; i + W <= n; i += W) store_##SUF(out + i, load_##SUF(a + i) OP s);                     \
            for (; i < n; i++) out[i] = a[i] OP b[0];                                                   \
        } else if (bs) {                                                                                \
            V_##SUF s = splat_##SUF(a[0]);                                                              \
            for (; i + W <= n; i += W) store_##SUF(out + i, s OP load_##SUF(b + i));                     \
            for (; i < n; i++) out[i] = a[0] OP b[i];                                                   \
        } else {                                                                                        \
            for (; i < n; i++) out[i] = a[0] OP b[0];                                                   \
        }                                                                                               \
    } while (0)
#define BINARY_PATH(SUF, T, W, TARGET)                                                                  \
    __attribute__((target(TARGET))) static void binary_##SUF(dg_binary_op op, const T *a, long as,      \
                                                             const T *b, long bs, T *out, long n) {     \
        switch (op) {                                                                                   \
        case DG_ADD: BINARY_LOOP(SUF, W, +); return;                                                    \
        case DG_SUB: BINARY_LOOP(SUF, W, -); return;                                                    \
        case DG_MUL: BINARY_LOOP(SUF, W, *); return;                                                    \
        case DG_DIV: BINARY_LOOP(SUF, W, /); return;                                                    \
        }                                                                                               \
    }
BINARY_PATH(f512, float, 16, "avx512f")
BINARY_PATH(d512, double, 8, "avx512f")
BINARY_PATH(f256, float, 8, "avx2,fma")
BINARY_PATH(d256, double, 4, "avx2,fma")
#define BINARY_SCALAR(T)                                                                                \
    static void binary_scalar_##T(dg_binary_op op, const T *a, long as, const T *b, long bs, T *out, long n) { \
        for (long i = 0; i < n; i++) {                                                                  \
            T x = a[i * as], y = b[i * bs];                                                             \
            out[i] = op == DG_ADD ? x + y : op == DG_SUB ? x - y : op == DG_MUL ? x * y : x / y;        \
        }                                                                                               \
    }
BINARY_SCALAR(float)
BINARY_SCALAR(double)

// MARK: - Entry points

#define DISPATCH_RESULT(F512, F256, FSCALAR, ...)                                                       \
    switch (isa_level()) {                                                                              \
    case ISA_AVX512: return F512(__VA_ARGS__);                                                          \
    case ISA_AVX2: return F256(__VA_ARGS__);                                                            \
    default: return FSCALAR(__VA_ARGS__);                                                               \
    }

#define DISPATCH(F512, F256, FSCALAR, ...)                                                              \
    switch (isa_level()) {                                                                              \
    case ISA_AVX512: F512(__VA_ARGS__); return;                                                         \
    case ISA_AVX2: F256(__VA_ARGS__); return;                                                           \
    default: FSCALAR(__VA_ARGS__); return;                                                              \
    }

void dg_unary_f32(dg_unary_op op, const float *x, float *y, long n) {
    DISPATCH(unary_f512, unary_f256, unary_scalar_float, op, x, y, n)
}
void dg_unary_f64(dg_unary_op op, const double *x, double *y, long n) {
    DISPATCH(unary_d512, unary_d256, unary_scalar_double, op, x, y, n)
}
void dg_binary_f32(dg_binary_op op, const float *a, long aStep, const float *b, long bStep, float *out, long n) {
    DISPATCH(binary_f512, binary_f256, binary_scalar_float, op, a, aStep, b, bStep, out, n)
}
void dg_binary_f64(dg_binary_op op, const double *a, long aStep, const double *b, long bStep, double *out, long n) {
    DISPATCH(binary_d512, binary_d256, binary_scalar_double, op, a, aStep, b, bStep, out, n)
}
void dg_bernoulli_nll_f32(const float *l, const float *t, float *out, long rows, long cols) {
    DISPATCH(bernoulli_nll_f512, bernoulli_nll_f256, bernoulli_nll_scalar_float, l, t, out, rows, cols)
}
void dg_bernoulli_nll_f64(const double *l, const double *t, double *out, long rows, long cols) {
    DISPATCH(bernoulli_nll_d512, bernoulli_nll_d256, bernoulli_nll_scalar_double, l, t, out, rows, cols)
}
void dg_bernoulli_nll_backward_f32(const float *l, const float *t, const float *g, float *out, long rows, long cols) {
    DISPATCH(bernoulli_nll_backward_f512, bernoulli_nll_backward_f256, bernoulli_nll_backward_scalar_float,
             l, t, g, out, rows, cols)
}
void dg_bernoulli_nll_backward_f64(const double *l, const double *t, const double *g, double *out, long rows, long cols) {
    DISPATCH(bernoulli_nll_backward_d512, bernoulli_nll_backward_d256, bernoulli_nll_backward_scalar_double,
             l, t, g, out, rows, cols)
}
void dg_sigmoid_curvature_f32(const float *l, const float *u, const float *g, const float *t, float *curvature,
                              float *residual, long rows, long cols) {
    DISPATCH(sigmoid_curvature_f512, sigmoid_curvature_f256, sigmoid_curvature_scalar_float,
             l, u, g, t, curvature, residual, rows, cols)
}
void dg_sigmoid_curvature_f64(const double *l, const double *u, const double *g, const double *t, double *curvature,
                              double *residual, long rows, long cols) {
    DISPATCH(sigmoid_curvature_d512, sigmoid_curvature_d256, sigmoid_curvature_scalar_double,
             l, u, g, t, curvature, residual, rows, cols)
}
void dg_conditional_logistic_f32(const float *l, const float *b, const float *w, float *z, float *jacobian, long n) {
    DISPATCH(conditional_logistic_f512, conditional_logistic_f256, conditional_logistic_scalar_float, l, b, w, z, jacobian, n)
}
void dg_conditional_logistic_f64(const double *l, const double *b, const double *w, double *z, double *jacobian, long n) {
    DISPATCH(conditional_logistic_d512, conditional_logistic_d256, conditional_logistic_scalar_double, l, b, w, z, jacobian, n)
}
void dg_bernoulli_kl_f32(const float *a, const float *p, float *out, long rows, long cols) {
    DISPATCH(bernoulli_kl_f512, bernoulli_kl_f256, bernoulli_kl_scalar_float, a, p, out, rows, cols)
}
void dg_bernoulli_kl_f64(const double *a, const double *p, double *out, long rows, long cols) {
    DISPATCH(bernoulli_kl_d512, bernoulli_kl_d256, bernoulli_kl_scalar_double, a, p, out, rows, cols)
}
int dg_adam_f32(float *p, const float *g, float *m, float *v, long n,
                 float stepSize, float beta1, float beta2, float invSqrtBias2, float epsilon) {
    DISPATCH_RESULT(adam_f512, adam_f256, adam_scalar_float, p, g, m, v, n, stepSize, beta1, beta2, invSqrtBias2, epsilon)
}
int dg_adam_f64(double *p, const double *g, double *m, double *v, long n,
                 double stepSize, double beta1, double beta2, double invSqrtBias2, double epsilon) {
    DISPATCH_RESULT(adam_d512, adam_d256, adam_scalar_double, p, g, m, v, n, stepSize, beta1, beta2, invSqrtBias2, epsilon)
}
int dg_radam_f32(float *p, const float *g, float *m, float *v, long n,
                  float scale, float beta1, float beta2, int rectified, float r, float epsilon) {
    DISPATCH_RESULT(radam_f512, radam_f256, radam_scalar_float, p, g, m, v, n, scale, beta1, beta2, rectified, r, epsilon)
}
int dg_radam_f64(double *p, const double *g, double *m, double *v, long n,
                  double scale, double beta1, double beta2, int rectified, double r, double epsilon) {
    DISPATCH_RESULT(radam_d512, radam_d256, radam_scalar_double, p, g, m, v, n, scale, beta1, beta2, rectified, r, epsilon)
}

// MARK: - Conditional Gumbel softmax mixture (see CKernels.h)

// SplitMix64 (Steele, Lea & Flood 2014; passes BigCrush) used as a counter-based generator: word i of
// the stream seeded by s is mix(s + (i + 1)·γ), the i-th output of SplitMix64 started at s. Every word
// is independent of the others' computation, so the loops below vectorise.
#define DG_GOLDEN_GAMMA 0x9E3779B97F4A7C15ULL
static inline uint64_t dg_mix64(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}
// n open-interval uniforms (k + ½)·2⁻ᵇ from words first, first + 1, … of the stream seeded by `seed`;
// returns the number of words used. Floats: two per word, u[i] from bits 41–63 of word i and
// u[⌈n/2⌉ + i] from bits 9–31 (23 bits each); doubles: one per word (bits 12–63).
static inline long dg_fill_uniform_float(uint64_t seed, uint64_t first, float *u, long n) {
    long h = (n + 1) / 2, l = n - h;
    for (long i = 0; i < l; i++) {
        uint64_t b = dg_mix64(seed + (first + (uint64_t)i + 1) * DG_GOLDEN_GAMMA);
        u[i] = ((float)(b >> 41) + 0.5f) * 0x1p-23f;
        u[h + i] = ((float)((b >> 9) & 0x7FFFFF) + 0.5f) * 0x1p-23f;
    }
    if (h > l) u[l] = ((float)(dg_mix64(seed + (first + (uint64_t)l + 1) * DG_GOLDEN_GAMMA) >> 41) + 0.5f) * 0x1p-23f;
    return h;
}
static inline long dg_fill_uniform_double(uint64_t seed, uint64_t first, double *u, long n) {
    for (long i = 0; i < n; i++) u[i] = ((double)(dg_mix64(seed + (first + (uint64_t)i + 1) * DG_GOLDEN_GAMMA) >> 12) + 0.5) * 0x1p-52;
    return n;
}

// Σ_k a[k]·b[k] over n (a multiple of 16) in 16 fixed partial sums, then added in order: the same bits
// on every path (the loop over the 16 lanes vectorises to one AVX-512 or two AVX2 registers of floats).
#define DOT16(T, ACC, A, B, N)                                                                          \
    do {                                                                                                \
        T lanes_[16] = {0};                                                                             \
        for (long k_ = 0; k_ < (N); k_ += 16)                                                           \
            for (int l_ = 0; l_ < 16; l_++) lanes_[l_] += (A)[k_ + l_] * (B)[k_ + l_];                  \
        T total_ = 0;                                                                                   \
        for (int l_ = 0; l_ < 16; l_++) total_ += lanes_[l_];                                           \
        (ACC) = total_;                                                                                 \
    } while (0)

// One instantiation per path: ATTR is the target attribute (empty for the scalar path), UNARY the path's
// array function (SLEEF or libm), LOG/LOG1P the scalar libm functions for the draws' values (z).
#define CGM_PATH(SUF, T, ATTR, UNARY, LOG, LOG1P)                                                       \
    ATTR static void cgm_##SUF(const T *theta, const T *code, const uint64_t *seeds, long rows, long C,  \
                               long K, long Kp, const T *w, T tau, T *y, T *value, T *z, long r0, long r1, \
                               T *scratch) {                                                            \
        T *c = scratch, *a = scratch + C, *S = a + Kp, *u = S + Kp;                                     \
        const T nit = -1 / tau;                                                                         \
        for (long r = r0; r < r1; r++) {                                                                \
            const T *th = theta + r * C, *cd = code + r * C;                                            \
            T m = th[0];                                                                                \
            long win = 0;                                                                               \
            for (long j = 0; j < C; j++) {                                                              \
                if (th[j] > m) m = th[j];                                                               \
                if (cd[j] != 0) win = j;                                                                \
            }                                                                                           \
            for (long j = 0; j < C; j++) c[j] = m - th[j];                                              \
            UNARY(DG_EXP, c, c, C);                                     /* c_j = e^{m − θ_j} */         \
            T zp = 0;                                                                                   \
            for (long j = 0; j < C; j++) zp += 1 / c[j];                /* Z' = Σ e^{θ_j − m} */        \
            uint64_t word = 0;                                                                          \
            for (long j = 0; j < C; j++) {                              /* class-major, K draws each */ \
                word += dg_fill_uniform_##T(seeds[r], word, u + j * Kp, K);                             \
                for (long k = K; k < Kp; k++) u[j * Kp + k] = (T)0.5;  /* padding: weight 0 */         \
            }                                                                                           \
            cgm_log_##SUF(u, C * Kp);                                   /* log U = −E */                \
            const T *lw = u + win * Kp;                                                                 \
            for (long k = 0; k < Kp; k++) a[k] = zp / lw[k];                                            \
            T *t = y + r * C * Kp;                                                                      \
            for (long j = 0; j < C; j++) {                              /* x_j = E_j c_j Z' / E_win */  \
                T cj = j == win ? 0 : c[j];                                                             \
                for (long k = 0; k < Kp; k++) t[j * Kp + k] = u[j * Kp + k] * cj * a[k];                \
            }                                                                                           \
            if (z) {                                                    /* the draws themselves */      \
                T top = m + LOG(zp);                                                                    \
                for (long k = 0; k < K; k++) {                                                          \
                    T zw = top - LOG(-lw[k]);                                                           \
                    for (long j = 0; j < C; j++) z[(k * rows + r) * C + j] = zw - LOG1P(t[j * Kp + k]); \
                }                                                                                       \
            }                                                                                           \
            if (tau == 1) {                                                                             \
                for (long i = 0; i < C * Kp; i++) t[i] = 1 / (1 + t[i]);                                \
            } else {                                                                                    \
                for (long i = 0; i < C * Kp; i++) t[i] = 1 + t[i];                                      \
                cgm_log_##SUF(t, C * Kp);                                                               \
                for (long i = 0; i < C * Kp; i++) t[i] = t[i] * nit;                                    \
                UNARY(DG_EXP, t, t, C * Kp);                            /* (1 + x)^{−1/τ} */            \
            }                                                                                           \
            for (long k = 0; k < Kp; k++) S[k] = 0;                                                     \
            for (long j = 0; j < C; j++)                                                                \
                for (long k = 0; k < Kp; k++) S[k] += t[j * Kp + k];                                    \
            for (long k = 0; k < Kp; k++) S[k] = 1 / S[k];                                              \
            for (long j = 0; j < C; j++)                                                                \
                for (long k = 0; k < Kp; k++) t[j * Kp + k] *= S[k];    /* y_k = softmax(z_k/τ) */      \
            for (long j = 0; j < C; j++) DOT16(T, value[r * C + j], w, t + j * Kp, Kp);                 \
        }                                                                                               \
    }                                                                                                   \
    ATTR static void cgm_backward_##SUF(const T *y, const T *g, long C, long Kp, const T *w, T tau,      \
                                        T *out, long r0, long r1, T *d) {                               \
        for (long r = r0; r < r1; r++) {                                                                \
            const T *yr = y + r * C * Kp, *gr = g + r * C;                                              \
            for (long k = 0; k < Kp; k++) d[k] = 0;                                                     \
            for (long j = 0; j < C; j++)                                                                \
                for (long k = 0; k < Kp; k++) d[k] += gr[j] * yr[j * Kp + k];  /* ⟨g, y_k⟩ */           \
            for (long j = 0; j < C; j++) {                                                              \
                T lanes[16] = {0};                                                                      \
                for (long k = 0; k < Kp; k += 16)                                                       \
                    for (int l = 0; l < 16; l++) lanes[l] += w[k + l] * (yr[j * Kp + k + l] * (gr[j] - d[k + l])); \
                T total = 0;                                                                            \
                for (int l = 0; l < 16; l++) total += lanes[l];                                         \
                out[r * C + j] = total / tau;                                                           \
            }                                                                                           \
        }                                                                                               \
    }

// The AVX-512 path of this kernel also uses AVX-512DQ (64-bit multiplies for the generator), which every
// AVX-512 CPU but Xeon Phi has; without it the kernel takes the AVX2 path.
#define ATTR_AVX512 __attribute__((target("avx512f,avx512dq")))
#define ATTR_AVX2 __attribute__((target("avx2,fma")))
// log U for the draws, n a multiple of 16 (whole vectors): SLEEF's 3.5-ULP logarithm, or libm's.
#define CGM_LOG(SUF, T, ATTR, VLOG, W)                                                                  \
    ATTR static void cgm_log_##SUF(T *u, long n) {                                                       \
        for (long i = 0; i < n; i += W) store_##SUF(u + i, VLOG(load_##SUF(u + i)));                     \
    }
CGM_LOG(f512, float, ATTR_AVX512, Sleef_logf16_u35avx512f, 16)
CGM_LOG(d512, double, ATTR_AVX512, Sleef_logd8_u35avx512f, 8)
CGM_LOG(f256, float, ATTR_AVX2, Sleef_logf8_u35avx2, 8)
CGM_LOG(d256, double, ATTR_AVX2, Sleef_logd4_u35avx2, 4)
static void cgm_log_fscalar(float *u, long n) { for (long i = 0; i < n; i++) u[i] = logf(u[i]); }
static void cgm_log_dscalar(double *u, long n) { for (long i = 0; i < n; i++) u[i] = log(u[i]); }
CGM_PATH(f512, float, ATTR_AVX512, unary_f512, logf, log1pf)
CGM_PATH(d512, double, ATTR_AVX512, unary_d512, log, log1p)
CGM_PATH(f256, float, ATTR_AVX2, unary_f256, logf, log1pf)
CGM_PATH(d256, double, ATTR_AVX2, unary_d256, log, log1p)
CGM_PATH(fscalar, float, , unary_scalar_float, logf, log1pf)
CGM_PATH(dscalar, double, , unary_scalar_double, log, log1p)

static int cgm_isa_level(void) {
    int level = isa_level();
    return level == ISA_AVX512 && !__builtin_cpu_supports("avx512dq") ? ISA_AVX2 : level;
}

#define CGM_ENTRY(T, SUF, P512, P256, PSCALAR)  /* P*: the paths' suffixes */                                                          \
    void dg_cond_gumbel_mixture_##SUF(const T *theta, const T *code, const uint64_t *seeds, long rows,  \
                                      long classes, long samples, long stride, const T *weights,        \
                                      T temperature, T *y, T *value, T *z, long firstRow, long lastRow) { \
        T *scratch = malloc(sizeof(T) * (size_t)(classes + 2 * stride + classes * stride));              \
        if (!scratch) abort();                                                                          \
        switch (cgm_isa_level()) {                                                                      \
        case ISA_AVX512: cgm_##P512(theta, code, seeds, rows, classes, samples, stride, weights, temperature, y, value, z, firstRow, lastRow, scratch); break; \
        case ISA_AVX2: cgm_##P256(theta, code, seeds, rows, classes, samples, stride, weights, temperature, y, value, z, firstRow, lastRow, scratch); break; \
        default: cgm_##PSCALAR(theta, code, seeds, rows, classes, samples, stride, weights, temperature, y, value, z, firstRow, lastRow, scratch); \
        }                                                                                               \
        free(scratch);                                                                                  \
    }                                                                                                   \
    void dg_cond_gumbel_mixture_backward_##SUF(const T *y, const T *g, long classes, long stride,        \
                                               const T *weights, T temperature, T *out, long firstRow, long lastRow) { \
        T *d = malloc(sizeof(T) * (size_t)stride);                                                      \
        if (!d) abort();                                                                                \
        switch (cgm_isa_level()) {                                                                      \
        case ISA_AVX512: cgm_backward_##P512(y, g, classes, stride, weights, temperature, out, firstRow, lastRow, d); break; \
        case ISA_AVX2: cgm_backward_##P256(y, g, classes, stride, weights, temperature, out, firstRow, lastRow, d); break; \
        default: cgm_backward_##PSCALAR(y, g, classes, stride, weights, temperature, out, firstRow, lastRow, d); \
        }                                                                                               \
        free(d);                                                                                        \
    }
CGM_ENTRY(float, f32, f512, f256, fscalar)
CGM_ENTRY(double, f64, d512, d256, dscalar)

// MARK: - Sparse rows times a dense matrix (see CKernels.h)

// Column slabs of 4 vectors outermost. Each slab of `dense` ([denseRows, 4W]) is first copied to a
// contiguous buffer: read in place, its rows sit a power-of-two stride apart (2 KB for 512 floats) and
// evict each other from the few cache sets they map to; packed, the slab stays in L1 (the weight
// gradient's [100, 64]) or L2 (the first layer's [784, 64]) for all the rows. Each output element is
// out + v₁·d₁ + v₂·d₂ + … in the nonzeros' order, one rounding per product and per sum (no contraction),
// on every path and in every slab width.
#define SPMM_ROW(SUF, T, W, O, P0, PE) /* the row at O, nonzeros [P0, PE) */                          \
    do {                                                                                                \
        const V_##SUF zero_ = splat_##SUF(0);                                                           \
        V_##SUF a0 = acc ? load_##SUF(O) : zero_, a1 = acc ? load_##SUF(O + W) : zero_;                 \
        V_##SUF a2 = acc ? load_##SUF(O + 2 * W) : zero_, a3 = acc ? load_##SUF(O + 3 * W) : zero_;     \
        for (long p = (P0); p < (PE); p++) {                                                            \
            const T *d = packed + (long)index[p] * 4 * W;                                               \
            V_##SUF v = splat_##SUF(value[p]);                                                          \
            a0 = a0 + v * load_##SUF(d); a1 = a1 + v * load_##SUF(d + W);                               \
            a2 = a2 + v * load_##SUF(d + 2 * W); a3 = a3 + v * load_##SUF(d + 3 * W);                   \
        }                                                                                               \
        store_##SUF(O, a0); store_##SUF(O + W, a1); store_##SUF(O + 2 * W, a2); store_##SUF(O + 3 * W, a3); \
    } while (0)
// A last slab narrower than 4W is packed with zero padding and its rows go through a 4W-wide copy, so
// every column takes the same vector arithmetic (lanes never interact, so the padding changes no bits).
#define SPMM_PATH(SUF, T, W, TARGET)                                                                    \
    __attribute__((target(TARGET))) static void spmm_##SUF(const long *start, const int *index, const T *value, \
                                                           long r0, long r1, const T *dense, long denseRows, \
                                                           long n, T *out, int acc, T *packed) {        \
        T tail[4 * W];                                                                                  \
        for (long j = 0; j < n; j += 4 * W) {                                                           \
            long width = n - j < 4 * W ? n - j : 4 * W;                                                 \
            if (width == 4 * W)                                                                         \
                for (long i = 0; i < denseRows; i++) {                                                  \
                    const T *src = dense + i * n + j;                                                   \
                    T *dst = packed + i * 4 * W;                                                        \
                    store_##SUF(dst, load_##SUF(src)); store_##SUF(dst + W, load_##SUF(src + W));       \
                    store_##SUF(dst + 2 * W, load_##SUF(src + 2 * W)); store_##SUF(dst + 3 * W, load_##SUF(src + 3 * W)); \
                }                                                                                       \
            else                                                                                        \
                for (long i = 0; i < denseRows; i++) {                                                  \
                    memcpy(packed + i * 4 * W, dense + i * n + j, sizeof(T) * (size_t)width);           \
                    for (long c = width; c < 4 * W; c++) packed[i * 4 * W + c] = 0;                     \
                }                                                                                       \
            for (long r = r0; r < r1; r++) {                                                            \
                T *o = out + r * n + j;                                                                 \
                if (width < 4 * W) {                                                                    \
                    if (acc) memcpy(tail, o, sizeof(T) * (size_t)width);                                \
                    T *t = tail;                                                                        \
                    SPMM_ROW(SUF, T, W, t, start[r], start[r + 1]);                                     \
                    memcpy(o, tail, sizeof(T) * (size_t)width);                                         \
                } else {                                                                                \
                    SPMM_ROW(SUF, T, W, o, start[r], start[r + 1]);                                     \
                }                                                                                       \
            }                                                                                           \
        }                                                                                               \
    }
SPMM_PATH(f512, float, 16, "avx512f")
SPMM_PATH(d512, double, 8, "avx512f")
SPMM_PATH(f256, float, 8, "avx2,fma")
SPMM_PATH(d256, double, 4, "avx2,fma")
#define SPMM_SCALAR(T)                                                                                  \
    static void spmm_scalar_##T(const long *start, const int *index, const T *value, long r0, long r1,  \
                                const T *dense, long denseRows, long n, T *out, int acc, T *packed) {   \
        (void)denseRows; (void)packed;                                                                  \
        for (long r = r0; r < r1; r++)                                                                  \
            for (long j = 0; j < n; j++) {                                                              \
                T a = acc ? out[r * n + j] : 0;                                                         \
                for (long p = start[r]; p < start[r + 1]; p++) a = a + value[p] * dense[(long)index[p] * n + j]; \
                out[r * n + j] = a;                                                                     \
            }                                                                                           \
    }
SPMM_SCALAR(float)
SPMM_SCALAR(double)

#define SPARSE_ENTRIES(T, SUF, P512, P256)                                                              \
    void dg_sparse_rows_times_dense_##SUF(const long *start, const int *index, const T *value, long firstRow, \
                                          long lastRow, const T *dense, long denseRows, long n, T *out, \
                                          int accumulate) {                                             \
        T *packed = aligned_alloc(64, sizeof(T) * (size_t)(denseRows > 0 ? denseRows : 1) * 64); /* 4 vectors of 512 bits, whole cache lines */ \
        if (!packed) abort();                                                                           \
        switch (isa_level()) {                                                                          \
        case ISA_AVX512: spmm_##P512(start, index, value, firstRow, lastRow, dense, denseRows, n, out, accumulate, packed); break; \
        case ISA_AVX2: spmm_##P256(start, index, value, firstRow, lastRow, dense, denseRows, n, out, accumulate, packed); break; \
        default: spmm_scalar_##T(start, index, value, firstRow, lastRow, dense, denseRows, n, out, accumulate, packed); \
        }                                                                                               \
        free(packed);                                                                                   \
    }                                                                                                   \
    long dg_count_nonzero_##SUF(const T *x, long n) {                                                   \
        long count = 0;                                                                                 \
        for (long i = 0; i < n; i++) count += x[i] != 0;                                                \
        return count;                                                                                   \
    }                                                                                                   \
    void dg_sparse_rows_from_dense_##SUF(const T *x, long rows, long cols, long *start, int *index, T *value) { \
        long p = 0;                                                                                     \
        for (long r = 0; r < rows; r++) {                                                               \
            start[r] = p;                                                                               \
            for (long c = 0; c < cols; c++) { /* branchless: writes one slot past the last nonzero */   \
                T v = x[r * cols + c];                                                                  \
                index[p] = (int)c; value[p] = v; p += v != 0;                                           \
            }                                                                                           \
        }                                                                                               \
        start[rows] = p;                                                                                \
    }                                                                                                   \
    void dg_sparse_transpose_##SUF(const long *start, const int *index, const T *value, long rows, long cols, \
                                   long *tStart, int *tIndex, T *tValue) {                              \
        for (long c = 0; c <= cols; c++) tStart[c] = 0;                                                 \
        for (long p = 0; p < start[rows]; p++) tStart[index[p] + 1]++;                                  \
        for (long c = 0; c < cols; c++) tStart[c + 1] += tStart[c];                                     \
        long *next = malloc(sizeof(long) * (size_t)(cols > 0 ? cols : 1));                             \
        if (!next) abort();                                                                             \
        memcpy(next, tStart, sizeof(long) * (size_t)cols);                                              \
        for (long r = 0; r < rows; r++)                                                                 \
            for (long p = start[r]; p < start[r + 1]; p++) {                                            \
                long q = next[index[p]]++;                                                              \
                tIndex[q] = (int)r; tValue[q] = value[p];                                               \
            }                                                                                           \
        free(next);                                                                                     \
    }
SPARSE_ENTRIES(float, f32, f512, f256)
SPARSE_ENTRIES(double, f64, d512, d256)
