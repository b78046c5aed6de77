// The scalar types a tensor can hold. Float32 trains (like PyTorch); Float64 runs the gradient checks
// and the exact-enumeration oracles, where Float32 rounding would hide a wrong backward rule.
import CKernels
import Foundation

/// A floating-point type with BLAS support and the transcendental functions the kernels need.
///
/// The `_…Kernel` requirements are the *specialisation points*: Float and Double implement them by
/// calling the generic kernels with a concrete type, so every inner loop is compiled for that type
/// (a generic loop that dispatches each `+` through a witness table is ~20x slower). Generic tensor
/// code above this layer pays one protocol call per tensor op, never per element.
public protocol TensorScalar: BinaryFloatingPoint, SIMDScalar, Codable, Sendable, LosslessStringConvertible
where RawSignificand: FixedWidthInteger {
    static func exp(_ x: Self) -> Self
    static func log(_ x: Self) -> Self
    static func log1p(_ x: Self) -> Self
    static func expm1(_ x: Self) -> Self
    static func tanh(_ x: Self) -> Self
    static func pow(_ x: Self, _ y: Self) -> Self
    /// A uniform sample in the open interval (0, 1) from 64 random bits.
    static func openUnit(_ bits: UInt64) -> Self

    static func _gemm(transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
                      alpha: Self, a: UnsafePointer<Self>, lda: Int, b: UnsafePointer<Self>, ldb: Int,
                      beta: Self, c: UnsafeMutablePointer<Self>, ldc: Int)
    static func _unaryKernel(_ op: UnaryOp, _ x: UnsafePointer<Self>, _ y: UnsafeMutablePointer<Self>, _ count: Int)
    static func _binaryKernel(_ op: BinaryOp, _ a: UnsafePointer<Self>, _ aStrides: [Int],
                              _ b: UnsafePointer<Self>, _ bStrides: [Int],
                              _ out: UnsafeMutablePointer<Self>, _ shape: [Int])
    /// out[i] = a[i·aStep] op b[i·bStep], steps 0 or 1 (CKernels' dg_binary_*).
    static func _binaryArrayKernel(_ op: dg_binary_op, _ a: UnsafePointer<Self>, _ aStep: Int, _ b: UnsafePointer<Self>, _ bStep: Int,
                                   _ out: UnsafeMutablePointer<Self>, _ count: Int)
    static func _stridedCopyKernel(_ x: UnsafePointer<Self>, _ strides: [Int], _ out: UnsafeMutablePointer<Self>, _ shape: [Int])
    static func _reduceKernel(_ op: ReduceOp, _ x: UnsafePointer<Self>, outer: Int, length: Int, inner: Int,
                              _ y: UnsafeMutablePointer<Self>)
    static func _softmaxKernel(_ x: UnsafePointer<Self>, _ y: UnsafeMutablePointer<Self>, rows: Int, columns: Int, log: Bool,
                               temperature: Self)
    static func _logSumExpKernel(_ x: UnsafePointer<Self>, _ y: UnsafeMutablePointer<Self>, rows: Int, columns: Int)
    static func _selectKernel(_ mask: UnsafePointer<Self>, _ a: UnsafePointer<Self>, _ b: UnsafePointer<Self>,
                              _ out: UnsafeMutablePointer<Self>, _ count: Int)
    /// The fused conditional Gumbel softmax mixture and its backward, rows `rows` (CKernels'
    /// dg_cond_gumbel_mixture_*; see `Variable.conditionalGumbelMixture`).
    static func _conditionalGumbelMixtureKernel(_ p: ConditionalGumbelMixtureArguments<Self>, rows: Range<Int>)
    static func _conditionalGumbelMixtureBackwardKernel(y: UnsafePointer<Self>, g: UnsafePointer<Self>, classes: Int, stride: Int,
                                                        weights: UnsafePointer<Self>, temperature: Self,
                                                        out: UnsafeMutablePointer<Self>, rows: Range<Int>)
    static func _uniformKernel(_ rng: inout RandomStream, _ out: UnsafeMutablePointer<Self>, _ count: Int)
    static func _allFiniteKernel(_ x: UnsafePointer<Self>, _ count: Int) -> Bool
    /// out[r] = Σ_j softplus(l[r,j]) − t[r,j]·l[r,j] (CKernels).
    static func _sigmoidCrossEntropyKernel(_ logits: UnsafePointer<Self>, _ targets: UnsafePointer<Self>,
                                           _ out: UnsafeMutablePointer<Self>, rows: Int, columns: Int)
    /// out[r,j] = (σ(l[r,j]) − t[r,j])·g[r] (CKernels).
    static func _sigmoidCrossEntropyBackwardKernel(_ logits: UnsafePointer<Self>, _ targets: UnsafePointer<Self>,
                                                   _ upstream: UnsafePointer<Self>, _ out: UnsafeMutablePointer<Self>,
                                                   rows: Int, columns: Int)
    /// curvature[r,j] = ((u·s)·(1 − s))·g[r] and residual[r,j] = u·(s − t), s = σ(l[r,j]) (CKernels'
    /// dg_sigmoid_curvature; a nil output is skipped, and its operand g or t may be nil).
    static func _sigmoidCurvatureKernel(_ logits: UnsafePointer<Self>, _ upstream: UnsafePointer<Self>, _ g: UnsafePointer<Self>?,
                                        _ targets: UnsafePointer<Self>?, _ curvature: UnsafeMutablePointer<Self>?,
                                        _ residual: UnsafeMutablePointer<Self>?, rows: Int, columns: Int)
    /// The conditional logistic draw and its derivative (CKernels' dg_conditional_logistic; see
    /// `Variable.conditionalLogistic`), elements `range`.
    static func _conditionalLogisticKernel(_ l: UnsafePointer<Self>, _ code: UnsafePointer<Self>, _ w: UnsafePointer<Self>,
                                           _ z: UnsafeMutablePointer<Self>, _ jacobian: UnsafeMutablePointer<Self>, count: Int)
    /// The analytic Bernoulli KL terms (CKernels' dg_bernoulli_kl; see `Variable.bernoulliKLTerms`).
    static func _bernoulliKLKernel(_ a: UnsafePointer<Self>, _ p: UnsafePointer<Self>, _ out: UnsafeMutablePointer<Self>,
                                   rows: Int, columns: Int)
    /// CKernels' sparse-rows kernels (see `SparseRows`): the count of nonzeros, the rows of a dense
    /// matrix, the transpose, and out[rows, :] += sparse · dense for the rows `rows`.
    static func _countNonzeroKernel(_ x: UnsafePointer<Self>, _ count: Int) -> Int
    static func _sparseRowsFromDenseKernel(_ x: UnsafePointer<Self>, rows: Int, columns: Int, start: UnsafeMutablePointer<Int>,
                                           index: UnsafeMutablePointer<Int32>, value: UnsafeMutablePointer<Self>)
    static func _sparseTransposeKernel(start: UnsafePointer<Int>, index: UnsafePointer<Int32>, value: UnsafePointer<Self>,
                                       rows: Int, columns: Int, tStart: UnsafeMutablePointer<Int>,
                                       tIndex: UnsafeMutablePointer<Int32>, tValue: UnsafeMutablePointer<Self>)
    static func _sparseRowsTimesDenseKernel(start: UnsafePointer<Int>, index: UnsafePointer<Int32>, value: UnsafePointer<Self>,
                                            rows: Range<Int>, dense: UnsafePointer<Self>, denseRows: Int, columns: Int,
                                            out: UnsafeMutablePointer<Self>, accumulate: Bool)
}

extension Float: TensorScalar {
    public static func exp(_ x: Float) -> Float { Foundation.expf(x) }
    public static func log(_ x: Float) -> Float { Foundation.logf(x) }
    public static func log1p(_ x: Float) -> Float { Foundation.log1pf(x) }
    public static func expm1(_ x: Float) -> Float { Foundation.expm1f(x) }
    public static func tanh(_ x: Float) -> Float { Foundation.tanhf(x) }
    public static func pow(_ x: Float, _ y: Float) -> Float { Foundation.powf(x, y) }
    /// (k + 1/2)·2⁻²³ for the top 23 bits k: exact in Float (24-bit significand), so never 0 or 1.
    /// (With 24 bits, k + 0.5 rounds for k ≥ 2²³ and the all-ones word gave exactly 1.)
    @inline(__always)
    public static func openUnit(_ bits: UInt64) -> Float { (Float(bits >> 41) + 0.5) * 0x1p-23 }

    public static func _gemm(transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
                             alpha: Float, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                             beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
        blasGemm(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: alpha,
                 a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
    }
    public static func _unaryKernel(_ op: UnaryOp, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ count: Int) {
        unaryEntry(op, x, y, count) { dg_unary_f32($0, $1, $2, $3) }
    }
    public static func _binaryKernel(_ op: BinaryOp, _ a: UnsafePointer<Float>, _ aStrides: [Int], _ b: UnsafePointer<Float>,
                                     _ bStrides: [Int], _ out: UnsafeMutablePointer<Float>, _ shape: [Int]) {
        binaryEntry(op, a, aStrides, b, bStrides, out, shape)
    }
    public static func _binaryArrayKernel(_ op: dg_binary_op, _ a: UnsafePointer<Float>, _ aStep: Int, _ b: UnsafePointer<Float>, _ bStep: Int,
                                          _ out: UnsafeMutablePointer<Float>, _ count: Int) {
        dg_binary_f32(op, a, aStep, b, bStep, out, count)
    }
    public static func _stridedCopyKernel(_ x: UnsafePointer<Float>, _ strides: [Int], _ out: UnsafeMutablePointer<Float>, _ shape: [Int]) {
        stridedCopyKernel(x, strides, out, shape)
    }
    public static func _reduceKernel(_ op: ReduceOp, _ x: UnsafePointer<Float>, outer: Int, length: Int, inner: Int,
                                     _ y: UnsafeMutablePointer<Float>) {
        reduceKernel(op, x, outer: outer, length: length, inner: inner, y)
    }
    public static func _softmaxKernel(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, rows: Int, columns: Int, log: Bool,
                                      temperature: Float) {
        softmaxEntry(x, y, rows: rows, columns: columns, log: log, temperature: temperature) { dg_unary_f32($0, $1, $2, $3) }
    }
    public static func _logSumExpKernel(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, rows: Int, columns: Int) {
        logSumExpKernel(x, y, rows: rows, columns: columns) { dg_unary_f32($0, $1, $2, $3) }
    }
    public static func _selectKernel(_ mask: UnsafePointer<Float>, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>,
                                     _ out: UnsafeMutablePointer<Float>, _ count: Int) {
        selectKernel(mask, a, b, out, count)
    }
    public static func _conditionalGumbelMixtureKernel(_ p: ConditionalGumbelMixtureArguments<Float>, rows: Range<Int>) {
        dg_cond_gumbel_mixture_f32(p.theta, p.code, p.seeds, p.rowCount, p.classes, p.samples, p.stride, p.weights,
                                     p.temperature, p.y, p.value, p.z, rows.lowerBound, rows.upperBound)
    }
    public static func _conditionalGumbelMixtureBackwardKernel(y: UnsafePointer<Float>, g: UnsafePointer<Float>, classes: Int, stride: Int,
                                                               weights: UnsafePointer<Float>, temperature: Float,
                                                               out: UnsafeMutablePointer<Float>, rows: Range<Int>) {
        dg_cond_gumbel_mixture_backward_f32(y, g, classes, stride, weights, temperature, out, rows.lowerBound, rows.upperBound)
    }
    public static func _uniformKernel(_ rng: inout RandomStream, _ out: UnsafeMutablePointer<Float>, _ count: Int) {
        uniformKernel(&rng, out, count)
    }
    public static func _allFiniteKernel(_ x: UnsafePointer<Float>, _ count: Int) -> Bool { allFiniteKernel(x, count) }
    public static func _sigmoidCrossEntropyKernel(_ logits: UnsafePointer<Float>, _ targets: UnsafePointer<Float>,
                                                  _ out: UnsafeMutablePointer<Float>, rows: Int, columns: Int) {
        rowChunkEntry(rows: rows, columns: columns) { offset, r in
            dg_bernoulli_nll_f32(logits + offset, targets + offset, out + r.lowerBound, r.count, columns)
        }
    }
    public static func _sigmoidCrossEntropyBackwardKernel(_ logits: UnsafePointer<Float>, _ targets: UnsafePointer<Float>,
                                                          _ upstream: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>,
                                                          rows: Int, columns: Int) {
        rowChunkEntry(rows: rows, columns: columns) { offset, r in
            dg_bernoulli_nll_backward_f32(logits + offset, targets + offset, upstream + r.lowerBound, out + offset, r.count, columns)
        }
    }
    public static func _sigmoidCurvatureKernel(_ logits: UnsafePointer<Float>, _ upstream: UnsafePointer<Float>, _ g: UnsafePointer<Float>?,
                                               _ targets: UnsafePointer<Float>?, _ curvature: UnsafeMutablePointer<Float>?,
                                               _ residual: UnsafeMutablePointer<Float>?, rows: Int, columns: Int) {
        rowChunkEntry(rows: rows, columns: columns) { offset, r in
            dg_sigmoid_curvature_f32(logits + offset, upstream + offset, g.map { $0 + r.lowerBound }, targets.map { $0 + offset },
                                     curvature.map { $0 + offset }, residual.map { $0 + offset }, r.count, columns)
        }
    }
    public static func _conditionalLogisticKernel(_ l: UnsafePointer<Float>, _ code: UnsafePointer<Float>, _ w: UnsafePointer<Float>,
                                                  _ z: UnsafeMutablePointer<Float>, _ jacobian: UnsafeMutablePointer<Float>, count: Int) {
        Parallel.forEachChunk(count) { r in
            dg_conditional_logistic_f32(l + r.lowerBound, code + r.lowerBound, w + r.lowerBound, z + r.lowerBound,
                                        jacobian + r.lowerBound, r.count)
        }
    }
    public static func _bernoulliKLKernel(_ a: UnsafePointer<Float>, _ p: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>,
                                          rows: Int, columns: Int) {
        rowChunkEntry(rows: rows, columns: columns) { offset, r in dg_bernoulli_kl_f32(a + offset, p, out + offset, r.count, columns) }
    }
    public static func _countNonzeroKernel(_ x: UnsafePointer<Float>, _ count: Int) -> Int { dg_count_nonzero_f32(x, count) }
    public static func _sparseRowsFromDenseKernel(_ x: UnsafePointer<Float>, rows: Int, columns: Int, start: UnsafeMutablePointer<Int>,
                                                  index: UnsafeMutablePointer<Int32>, value: UnsafeMutablePointer<Float>) {
        dg_sparse_rows_from_dense_f32(x, rows, columns, start, index, value)
    }
    public static func _sparseTransposeKernel(start: UnsafePointer<Int>, index: UnsafePointer<Int32>, value: UnsafePointer<Float>,
                                              rows: Int, columns: Int, tStart: UnsafeMutablePointer<Int>,
                                              tIndex: UnsafeMutablePointer<Int32>, tValue: UnsafeMutablePointer<Float>) {
        dg_sparse_transpose_f32(start, index, value, rows, columns, tStart, tIndex, tValue)
    }
    public static func _sparseRowsTimesDenseKernel(start: UnsafePointer<Int>, index: UnsafePointer<Int32>, value: UnsafePointer<Float>,
                                                   rows: Range<Int>, dense: UnsafePointer<Float>, denseRows: Int, columns: Int,
                                                   out: UnsafeMutablePointer<Float>, accumulate: Bool) {
        dg_sparse_rows_times_dense_f32(start, index, value, rows.lowerBound, rows.upperBound, dense, denseRows, columns, out, accumulate ? 1 : 0)
    }
}

extension Double: TensorScalar {
    public static func exp(_ x: Double) -> Double { Foundation.exp(x) }
    public static func log(_ x: Double) -> Double { Foundation.log(x) }
    public static func log1p(_ x: Double) -> Double { Foundation.log1p(x) }
    public static func expm1(_ x: Double) -> Double { Foundation.expm1(x) }
    public static func tanh(_ x: Double) -> Double { Foundation.tanh(x) }
    public static func pow(_ x: Double, _ y: Double) -> Double { Foundation.pow(x, y) }
    /// (k + 1/2)·2⁻⁵² for the top 52 bits k: exact in Double (53-bit significand), so never 0 or 1.
    /// (With 53 bits, k + 0.5 rounds for k ≥ 2⁵² and the all-ones word gave exactly 1.)
    @inline(__always)
    public static func openUnit(_ bits: UInt64) -> Double { (Double(bits >> 12) + 0.5) * 0x1p-52 }

    public static func _gemm(transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
                             alpha: Double, a: UnsafePointer<Double>, lda: Int, b: UnsafePointer<Double>, ldb: Int,
                             beta: Double, c: UnsafeMutablePointer<Double>, ldc: Int) {
        blasGemm(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: alpha,
                 a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
    }
    public static func _unaryKernel(_ op: UnaryOp, _ x: UnsafePointer<Double>, _ y: UnsafeMutablePointer<Double>, _ count: Int) {
        unaryEntry(op, x, y, count) { dg_unary_f64($0, $1, $2, $3) }
    }
    public static func _binaryKernel(_ op: BinaryOp, _ a: UnsafePointer<Double>, _ aStrides: [Int], _ b: UnsafePointer<Double>,
                                     _ bStrides: [Int], _ out: UnsafeMutablePointer<Double>, _ shape: [Int]) {
        binaryEntry(op, a, aStrides, b, bStrides, out, shape)
    }
    public static func _binaryArrayKernel(_ op: dg_binary_op, _ a: UnsafePointer<Double>, _ aStep: Int, _ b: UnsafePointer<Double>, _ bStep: Int,
                                          _ out: UnsafeMutablePointer<Double>, _ count: Int) {
        dg_binary_f64(op, a, aStep, b, bStep, out, count)
    }
    public static func _stridedCopyKernel(_ x: UnsafePointer<Double>, _ strides: [Int], _ out: UnsafeMutablePointer<Double>, _ shape: [Int]) {
        stridedCopyKernel(x, strides, out, shape)
    }
    public static func _reduceKernel(_ op: ReduceOp, _ x: UnsafePointer<Double>, outer: Int, length: Int, inner: Int,
                                     _ y: UnsafeMutablePointer<Double>) {
        reduceKernel(op, x, outer: outer, length: length, inner: inner, y)
    }
    public static func _softmaxKernel(_ x: UnsafePointer<Double>, _ y: UnsafeMutablePointer<Double>, rows: Int, columns: Int, log: Bool,
                                      temperature: Double) {
        softmaxEntry(x, y, rows: rows, columns: columns, log: log, temperature: temperature) { dg_unary_f64($0, $1, $2, $3) }
    }
    public static func _logSumExpKernel(_ x: UnsafePointer<Double>, _ y: UnsafeMutablePointer<Double>, rows: Int, columns: Int) {
        logSumExpKernel(x, y, rows: rows, columns: columns) { dg_unary_f64($0, $1, $2, $3) }
    }
    public static func _selectKernel(_ mask: UnsafePointer<Double>, _ a: UnsafePointer<Double>, _ b: UnsafePointer<Double>,
                                     _ out: UnsafeMutablePointer<Double>, _ count: Int) {
        selectKernel(mask, a, b, out, count)
    }
    public static func _conditionalGumbelMixtureKernel(_ p: ConditionalGumbelMixtureArguments<Double>, rows: Range<Int>) {
        dg_cond_gumbel_mixture_f64(p.theta, p.code, p.seeds, p.rowCount, p.classes, p.samples, p.stride, p.weights,
                                     p.temperature, p.y, p.value, p.z, rows.lowerBound, rows.upperBound)
    }
    public static func _conditionalGumbelMixtureBackwardKernel(y: UnsafePointer<Double>, g: UnsafePointer<Double>, classes: Int, stride: Int,
                                                               weights: UnsafePointer<Double>, temperature: Double,
                                                               out: UnsafeMutablePointer<Double>, rows: Range<Int>) {
        dg_cond_gumbel_mixture_backward_f64(y, g, classes, stride, weights, temperature, out, rows.lowerBound, rows.upperBound)
    }
    public static func _uniformKernel(_ rng: inout RandomStream, _ out: UnsafeMutablePointer<Double>, _ count: Int) {
        uniformKernel(&rng, out, count)
    }
    public static func _allFiniteKernel(_ x: UnsafePointer<Double>, _ count: Int) -> Bool { allFiniteKernel(x, count) }
    public static func _sigmoidCrossEntropyKernel(_ logits: UnsafePointer<Double>, _ targets: UnsafePointer<Double>,
                                                  _ out: UnsafeMutablePointer<Double>, rows: Int, columns: Int) {
        rowChunkEntry(rows: rows, columns: columns) { offset, r in
            dg_bernoulli_nll_f64(logits + offset, targets + offset, out + r.lowerBound, r.count, columns)
        }
    }
    public static func _sigmoidCrossEntropyBackwardKernel(_ logits: UnsafePointer<Double>, _ targets: UnsafePointer<Double>,
                                                          _ upstream: UnsafePointer<Double>, _ out: UnsafeMutablePointer<Double>,
                                                          rows: Int, columns: Int) {
        rowChunkEntry(rows: rows, columns: columns) { offset, r in
            dg_bernoulli_nll_backward_f64(logits + offset, targets + offset, upstream + r.lowerBound, out + offset, r.count, columns)
        }
    }
    public static func _sigmoidCurvatureKernel(_ logits: UnsafePointer<Double>, _ upstream: UnsafePointer<Double>, _ g: UnsafePointer<Double>?,
                                               _ targets: UnsafePointer<Double>?, _ curvature: UnsafeMutablePointer<Double>?,
                                               _ residual: UnsafeMutablePointer<Double>?, rows: Int, columns: Int) {
        rowChunkEntry(rows: rows, columns: columns) { offset, r in
            dg_sigmoid_curvature_f64(logits + offset, upstream + offset, g.map { $0 + r.lowerBound }, targets.map { $0 + offset },
                                     curvature.map { $0 + offset }, residual.map { $0 + offset }, r.count, columns)
        }
    }
    public static func _conditionalLogisticKernel(_ l: UnsafePointer<Double>, _ code: UnsafePointer<Double>, _ w: UnsafePointer<Double>,
                                                  _ z: UnsafeMutablePointer<Double>, _ jacobian: UnsafeMutablePointer<Double>, count: Int) {
        Parallel.forEachChunk(count) { r in
            dg_conditional_logistic_f64(l + r.lowerBound, code + r.lowerBound, w + r.lowerBound, z + r.lowerBound,
                                        jacobian + r.lowerBound, r.count)
        }
    }
    public static func _bernoulliKLKernel(_ a: UnsafePointer<Double>, _ p: UnsafePointer<Double>, _ out: UnsafeMutablePointer<Double>,
                                          rows: Int, columns: Int) {
        rowChunkEntry(rows: rows, columns: columns) { offset, r in dg_bernoulli_kl_f64(a + offset, p, out + offset, r.count, columns) }
    }
    public static func _countNonzeroKernel(_ x: UnsafePointer<Double>, _ count: Int) -> Int { dg_count_nonzero_f64(x, count) }
    public static func _sparseRowsFromDenseKernel(_ x: UnsafePointer<Double>, rows: Int, columns: Int, start: UnsafeMutablePointer<Int>,
                                                  index: UnsafeMutablePointer<Int32>, value: UnsafeMutablePointer<Double>) {
        dg_sparse_rows_from_dense_f64(x, rows, columns, start, index, value)
    }
    public static func _sparseTransposeKernel(start: UnsafePointer<Int>, index: UnsafePointer<Int32>, value: UnsafePointer<Double>,
                                              rows: Int, columns: Int, tStart: UnsafeMutablePointer<Int>,
                                              tIndex: UnsafeMutablePointer<Int32>, tValue: UnsafeMutablePointer<Double>) {
        dg_sparse_transpose_f64(start, index, value, rows, columns, tStart, tIndex, tValue)
    }
    public static func _sparseRowsTimesDenseKernel(start: UnsafePointer<Int>, index: UnsafePointer<Int32>, value: UnsafePointer<Double>,
                                                   rows: Range<Int>, dense: UnsafePointer<Double>, denseRows: Int, columns: Int,
                                                   out: UnsafeMutablePointer<Double>, accumulate: Bool) {
        dg_sparse_rows_times_dense_f64(start, index, value, rows.lowerBound, rows.upperBound, dense, denseRows, columns, out, accumulate ? 1 : 0)
    }
}
