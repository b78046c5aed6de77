// Elementwise, reduction and softmax kernels over raw buffers. Each is generic over the scalar and
// over a functor type, and is only ever called from the concrete Float/Double entry points in
// Scalar.swift, so the optimiser emits one tight, vectorisable loop per (scalar, op) pair.
// Transcendental functions (exp, log, log1p, tanh and the sigmoid family) do not run here: the entry
// points send them to CKernels, which evaluates them with SLEEF's vector functions (`vectorised`).
import CKernels

// MARK: - Op tags

public enum UnaryOp: Sendable {
    case neg, exp, log, log1p, sigmoid, tanh, relu, softplus, logSigmoid, square, sqrt, abs, reciprocal
    /// 1 where x > 0, else 0 (the derivative of relu; a constant mask, so its own derivative is 0).
    case step
}

public enum BinaryOp: Sendable {
    case add, sub, mul, div, maximum, minimum, pow
    /// 1 where a > b, else 0.
    case greater
    /// 1 where a == b, else 0.
    case equal
}

public enum ReduceOp: Sendable { case sum, max, min, argmax }

extension BinaryOp {
    /// The CKernels array function for the four arithmetic ops (AVX-512/AVX2 at run time; Swift's own loops
    /// are compiled for baseline SSE2), or nil: what `binaryLoop` and `combined` send to `_binaryArrayKernel`.
    var vectorised: dg_binary_op? {
        switch self {
        case .add: return DG_ADD
        case .sub: return DG_SUB
        case .mul: return DG_MUL
        case .div: return DG_DIV
        default: return nil
        }
    }
}

extension UnaryOp {
    /// The CKernels (SLEEF) function for ops that need a transcendental; nil for the rest, which the
    /// compiler vectorises on its own.
    var vectorised: dg_unary_op? {
        switch self {
        case .exp: return DG_EXP
        case .log: return DG_LOG
        case .log1p: return DG_LOG1P
        case .tanh: return DG_TANH
        case .sigmoid: return DG_SIGMOID
        case .softplus: return DG_SOFTPLUS
        case .logSigmoid: return DG_LOGSIGMOID
        default: return nil
        }
    }
}

/// y = f(x) for a CKernels function, in the scalar type's precision.
typealias VectorUnary<S> = (dg_unary_op, UnsafePointer<S>, UnsafeMutablePointer<S>, Int) -> Void

// MARK: - Entry points shared by Float and Double
// What the TensorScalar requirements do, once: Scalar.swift's Float and Double witnesses pass their
// CKernels functions in, so each loop is still compiled for a concrete type.

/// Transcendental ops through CKernels (SLEEF), the rest through `unaryKernel`, split across threads.
@inline(__always)
func unaryEntry<S: TensorScalar>(_ op: UnaryOp, _ x: UnsafePointer<S>, _ y: UnsafeMutablePointer<S>, _ count: Int,
                                 vector: VectorUnary<S>) {
    guard let vectorised = op.vectorised else {
        return Parallel.forEachChunk(count, minimum: Parallel.minimumCheapChunk) {
            unaryKernel(op, x + $0.lowerBound, y + $0.lowerBound, $0.count)
        }
    }
    Parallel.forEachChunk(count) { vector(vectorised, x + $0.lowerBound, y + $0.lowerBound, $0.count) }
}

/// Large same-shape operands (the K-sample estimators' tensors) split across threads; below
/// `Parallel.minimumCheapChunk` per thread the dispatch costs more than these cheap loops save.
@inline(__always)
func binaryEntry<S: TensorScalar>(_ op: BinaryOp, _ a: UnsafePointer<S>, _ aStrides: [Int], _ b: UnsafePointer<S>,
                                  _ bStrides: [Int], _ out: UnsafeMutablePointer<S>, _ shape: [Int]) {
    let count = shape.reduce(1, *)
    if Parallel.threads > 1, count >= 2 * Parallel.minimumCheapChunk, aStrides == bStrides, aStrides == contiguousStrides(shape) {
        return Parallel.forEachChunk(count, minimum: Parallel.minimumCheapChunk) { r in
            binaryKernel(op, a + r.lowerBound, [1], b + r.lowerBound, [1], out + r.lowerBound, [r.count])
        }
    }
    binaryKernel(op, a, aStrides, b, bStrides, out, shape)
}

/// Arithmetic on two contiguous operands with steps 1 (same shape) or 0 (a single scalar), the case
/// `binaryEntry` and `binaryLoop` reach through strides: the same kernel calls, the same thread split,
/// without building shape and stride arrays (a REBAR step made ~600 of them).
@inline(__always)
func binaryArrayEntry<S: TensorScalar>(_ op: dg_binary_op, _ a: UnsafePointer<S>, _ aStep: Int, _ b: UnsafePointer<S>, _ bStep: Int,
                                       _ out: UnsafeMutablePointer<S>, _ count: Int) {
    if count == 0 { return }
    if aStep == 1, bStep == 1, Parallel.threads > 1, count >= 2 * Parallel.minimumCheapChunk {
        return Parallel.forEachChunk(count, minimum: Parallel.minimumCheapChunk) { r in
            S._binaryArrayKernel(op, a + r.lowerBound, 1, b + r.lowerBound, 1, out + r.lowerBound, r.count)
        }
    }
    S._binaryArrayKernel(op, a, aStep, b, bStep, out, count)
}

/// `softmaxKernel` on chunks of whole rows across threads.
@inline(__always)
func softmaxEntry<S: TensorScalar>(_ x: UnsafePointer<S>, _ y: UnsafeMutablePointer<S>, rows: Int, columns: Int, log: Bool,
                                   temperature: S, exp vectorExp: VectorUnary<S>) {
    Parallel.forEachRowChunk(rows: rows, width: columns) { r in
        let offset = r.lowerBound * columns
        softmaxKernel(x + offset, y + offset, rows: r.count, columns: columns, log: log, temperature: temperature, exp: vectorExp)
    }
}

/// A row-wise CKernels kernel (the fused Bernoulli NLL and its gradient) on chunks of whole rows across
/// threads: `body(elementOffset, rows)` runs one chunk.
@inline(__always)
func rowChunkEntry(rows: Int, columns: Int, _ body: (_ offset: Int, _ rows: Range<Int>) -> Void) {
    Parallel.forEachRowChunk(rows: rows, width: columns) { body($0.lowerBound * columns, $0) }
}

// MARK: - Unary

protocol UnaryFunctor { static func apply<S: TensorScalar>(_ x: S) -> S }

enum NegF: UnaryFunctor { @inline(__always) static func apply<S: TensorScalar>(_ x: S) -> S { -x } }
enum ExpF: UnaryFunctor { @inline(__always) static func apply<S: TensorScalar>(_ x: S) -> S { S.exp(x) } }
enum LogF: UnaryFunctor { @inline(__always) static func apply<S: TensorScalar>(_ x: S) -> S { S.log(x) } }
enum Log1pF: UnaryFunctor { @inline(__always) static func apply<S: TensorScalar>(_ x: S) -> S { S.log1p(x) } }
enum TanhF: UnaryFunctor { @inline(__always) static func apply<S: TensorScalar>(_ x: S) -> S { S.tanh(x) } }
enum ReluF: UnaryFunctor { @inline(__always) static func apply<S: TensorScalar>(_ x: S) -> S { x > 0 ? x : 0 } }
enum StepF: UnaryFunctor { @inline(__always) static func apply<S: TensorScalar>(_ x: S) -> S { x > 0 ? 1 : 0 } }
enum SquareF: UnaryFunctor { @inline(__always) static func apply<S: TensorScalar>(_ x: S) -> S { x * x } }
enum SqrtF: UnaryFunctor { @inline(__always) static func apply<S: TensorScalar>(_ x: S) -> S { x.squareRoot() } }
enum AbsF: UnaryFunctor { @inline(__always) static func apply<S: TensorScalar>(_ x: S) -> S { Swift.abs(x) } }
enum ReciprocalF: UnaryFunctor { @inline(__always) static func apply<S: TensorScalar>(_ x: S) -> S { 1 / x } }
/// Stable in both tails: exp only ever sees a non-positive argument.
enum SigmoidF: UnaryFunctor {
    @inline(__always) static func apply<S: TensorScalar>(_ x: S) -> S {
        if x >= 0 { return 1 / (1 + S.exp(-x)) }
        let e = S.exp(x)
        return e / (1 + e)
    }
}
/// softplus(x) = log(1 + e^x) = max(x, 0) + log1p(e^{-|x|}).
enum SoftplusF: UnaryFunctor {
    @inline(__always) static func apply<S: TensorScalar>(_ x: S) -> S { (x > 0 ? x : 0) + S.log1p(S.exp(-Swift.abs(x))) }
}
/// log sigmoid(x) = -softplus(-x) = min(x, 0) - log1p(e^{-|x|}).
enum LogSigmoidF: UnaryFunctor {
    @inline(__always) static func apply<S: TensorScalar>(_ x: S) -> S { (x < 0 ? x : 0) - S.log1p(S.exp(-Swift.abs(x))) }
}

@inline(__always)
func unaryLoop<S: TensorScalar, F: UnaryFunctor>(_: F.Type, _ x: UnsafePointer<S>, _ y: UnsafeMutablePointer<S>, _ n: Int) {
    for i in 0..<n { y[i] = F.apply(x[i]) }
}

func unaryKernel<S: TensorScalar>(_ op: UnaryOp, _ x: UnsafePointer<S>, _ y: UnsafeMutablePointer<S>, _ n: Int) {
    switch op {
    case .neg: unaryLoop(NegF.self, x, y, n)
    case .exp: unaryLoop(ExpF.self, x, y, n)
    case .log: unaryLoop(LogF.self, x, y, n)
    case .log1p: unaryLoop(Log1pF.self, x, y, n)
    case .sigmoid: unaryLoop(SigmoidF.self, x, y, n)
    case .tanh: unaryLoop(TanhF.self, x, y, n)
    case .relu: unaryLoop(ReluF.self, x, y, n)
    case .softplus: unaryLoop(SoftplusF.self, x, y, n)
    case .logSigmoid: unaryLoop(LogSigmoidF.self, x, y, n)
    case .square: unaryLoop(SquareF.self, x, y, n)
    case .sqrt: unaryLoop(SqrtF.self, x, y, n)
    case .abs: unaryLoop(AbsF.self, x, y, n)
    case .reciprocal: unaryLoop(ReciprocalF.self, x, y, n)
    case .step: unaryLoop(StepF.self, x, y, n)
    }
}

// MARK: - Binary with broadcasting

protocol BinaryFunctor {
    static func apply<S: TensorScalar>(_ a: S, _ b: S) -> S
}

enum AddF: BinaryFunctor {
    @inline(__always) static func apply<S: TensorScalar>(_ a: S, _ b: S) -> S { a + b }
}
enum SubF: BinaryFunctor {
    @inline(__always) static func apply<S: TensorScalar>(_ a: S, _ b: S) -> S { a - b }
}
enum MulF: BinaryFunctor {
    @inline(__always) static func apply<S: TensorScalar>(_ a: S, _ b: S) -> S { a * b }
}
enum DivF: BinaryFunctor {
    @inline(__always) static func apply<S: TensorScalar>(_ a: S, _ b: S) -> S { a / b }
}
enum MaxF: BinaryFunctor { @inline(__always) static func apply<S: TensorScalar>(_ a: S, _ b: S) -> S { a >= b ? a : b } }
enum MinF: BinaryFunctor { @inline(__always) static func apply<S: TensorScalar>(_ a: S, _ b: S) -> S { a <= b ? a : b } }
enum PowF: BinaryFunctor { @inline(__always) static func apply<S: TensorScalar>(_ a: S, _ b: S) -> S { S.pow(a, b) } }
enum GreaterF: BinaryFunctor { @inline(__always) static func apply<S: TensorScalar>(_ a: S, _ b: S) -> S { a > b ? 1 : 0 } }
enum EqualF: BinaryFunctor { @inline(__always) static func apply<S: TensorScalar>(_ a: S, _ b: S) -> S { a == b ? 1 : 0 } }

/// Row-major strides of a contiguous tensor.
func contiguousStrides(_ shape: [Int]) -> [Int] {
    var strides = [Int](repeating: 1, count: shape.count)
    var running = 1
    for axis in stride(from: shape.count - 1, through: 0, by: -1) {
        strides[axis] = running
        running *= shape[axis]
    }
    return strides
}

/// The shape of `out` is `shape`; `aStrides`/`bStrides` are element strides with 0 on broadcast axes.
/// Fast paths cover what a VAE does all day (same shape, scalar, bias row, per-row column); the general
/// case walks an odometer over all but the last axis.
@inline(__always)
func binaryLoop<S: TensorScalar, F: BinaryFunctor>(
    _: F.Type, _ vectorised: dg_binary_op?, _ a: UnsafePointer<S>, _ aStrides: [Int], _ b: UnsafePointer<S>,
    _ bStrides: [Int], _ out: UnsafeMutablePointer<S>, _ shape: [Int]
) {
    let count = shape.reduce(1, *)
    if count == 0 { return }
    let dense = contiguousStrides(shape)
    let aDense = aStrides == dense, bDense = bStrides == dense
    let aScalar = aStrides.allSatisfy { $0 == 0 }, bScalar = bStrides.allSatisfy { $0 == 0 }
    if let op = vectorised, (aDense || aScalar) && (bDense || bScalar) {
        return S._binaryArrayKernel(op, a, aDense ? 1 : 0, b, bDense ? 1 : 0, out, count)
    }
    if aDense && bDense {
        for i in 0..<count { out[i] = F.apply(a[i], b[i]) }
        return
    }
    if aDense && bScalar {
        let s = b[0]
        for i in 0..<count { out[i] = F.apply(a[i], s) }
        return
    }
    if aScalar && bDense {
        let s = a[0]
        for i in 0..<count { out[i] = F.apply(s, b[i]) }
        return
    }
    let rank = shape.count
    let inner = shape[rank - 1]
    let outer = count / inner
    let aInner = aStrides[rank - 1], bInner = bStrides[rank - 1]
    // Odometer over the leading axes; the innermost axis is a strided loop.
    var index = [Int](repeating: 0, count: rank)
    var aBase = 0, bBase = 0
    for row in 0..<outer {
        let o = out + row * inner
        if let op = vectorised, inner >= 16, aInner == 0 || aInner == 1, bInner == 0 || bInner == 1 {
            S._binaryArrayKernel(op, a + aBase, aInner, b + bBase, bInner, o, inner)
        } else if aInner == 1 && bInner == 1 {
            for j in 0..<inner { o[j] = F.apply(a[aBase + j], b[bBase + j]) }
        } else if aInner == 1 && bInner == 0 {
            let s = b[bBase]
            for j in 0..<inner { o[j] = F.apply(a[aBase + j], s) }
        } else if aInner == 0 && bInner == 1 {
            let s = a[aBase]
            for j in 0..<inner { o[j] = F.apply(s, b[bBase + j]) }
        } else {
            for j in 0..<inner { o[j] = F.apply(a[aBase + j * aInner], b[bBase + j * bInner]) }
        }
        // Advance the odometer over axes rank-2 ... 0.
        var axis = rank - 2
        while axis >= 0 {
            index[axis] += 1
            aBase += aStrides[axis]
            bBase += bStrides[axis]
            if index[axis] < shape[axis] { break }
            aBase -= aStrides[axis] * shape[axis]
            bBase -= bStrides[axis] * shape[axis]
            index[axis] = 0
            axis -= 1
        }
    }
}

func binaryKernel<S: TensorScalar>(
    _ op: BinaryOp, _ a: UnsafePointer<S>, _ aStrides: [Int], _ b: UnsafePointer<S>, _ bStrides: [Int],
    _ out: UnsafeMutablePointer<S>, _ shape: [Int]
) {
    let v = op.vectorised
    switch op {
    case .add: binaryLoop(AddF.self, v, a, aStrides, b, bStrides, out, shape)
    case .sub: binaryLoop(SubF.self, v, a, aStrides, b, bStrides, out, shape)
    case .mul: binaryLoop(MulF.self, v, a, aStrides, b, bStrides, out, shape)
    case .div: binaryLoop(DivF.self, v, a, aStrides, b, bStrides, out, shape)
    case .maximum: binaryLoop(MaxF.self, v, a, aStrides, b, bStrides, out, shape)
    case .minimum: binaryLoop(MinF.self, v, a, aStrides, b, bStrides, out, shape)
    case .pow: binaryLoop(PowF.self, v, a, aStrides, b, bStrides, out, shape)
    case .greater: binaryLoop(GreaterF.self, v, a, aStrides, b, bStrides, out, shape)
    case .equal: binaryLoop(EqualF.self, v, a, aStrides, b, bStrides, out, shape)
    }
}

/// Materialises a strided view (broadcast with zero strides, or a transpose) into contiguous `out`.
func stridedCopyKernel<S: TensorScalar>(_ x: UnsafePointer<S>, _ strides: [Int], _ out: UnsafeMutablePointer<S>, _ shape: [Int]) {
    let count = shape.reduce(1, *)
    if count == 0 { return }
    if shape.isEmpty { out[0] = x[0]; return }
    // A scalar stretched to a shape (the backward of a sum): one fill.
    if strides.allSatisfy({ $0 == 0 }) { out.update(repeating: x[0], count: count); return }
    let rank = shape.count
    let inner = shape[rank - 1], innerStride = strides[rank - 1]
    var index = [Int](repeating: 0, count: rank)
    var base = 0
    for row in 0..<(count / inner) {
        let o = out + row * inner
        if innerStride == 1 {
            o.update(from: x + base, count: inner)
        } else if innerStride == 0 {
            o.update(repeating: x[base], count: inner)
        } else {
            for j in 0..<inner { o[j] = x[base + j * innerStride] }
        }
        var axis = rank - 2
        while axis >= 0 {
            index[axis] += 1
            base += strides[axis]
            if index[axis] < shape[axis] { break }
            base -= strides[axis] * shape[axis]
            index[axis] = 0
            axis -= 1
        }
    }
}

// MARK: - Reductions

/// Reduces the middle axis of a [outer, length, inner] view. Sums use four accumulators over the
/// contiguous case, which both vectorises and reduces rounding error compared with one running sum.
func reduceKernel<S: TensorScalar>(_ op: ReduceOp, _ x: UnsafePointer<S>, outer: Int, length: Int, inner: Int,
                                   _ y: UnsafeMutablePointer<S>) {
    for o in 0..<outer {
        let block = x + o * length * inner
        let result = y + o * inner
        switch op {
        case .sum:
            if inner == 1 {
                var s0: S = 0, s1: S = 0, s2: S = 0, s3: S = 0
                var i = 0
                while i + 4 <= length {
                    s0 += block[i]; s1 += block[i + 1]; s2 += block[i + 2]; s3 += block[i + 3]
                    i += 4
                }
                while i < length { s0 += block[i]; i += 1 }
                result[0] = (s0 + s1) + (s2 + s3)
            } else {
                // Row by row through the vectorised add (the bias gradients' column sums): the same
                // sums, element by element in row order, as the plain loop.
                for j in 0..<inner { result[j] = 0 }
                for i in 0..<length { S._binaryArrayKernel(DG_ADD, result, 1, block + i * inner, 1, result, inner) }
            }
        case .max, .min:
            let isMax = op == .max
            for j in 0..<inner { result[j] = block[j] }
            for i in 1..<max(length, 1) {
                let row = block + i * inner
                for j in 0..<inner {
                    let v = row[j]
                    if isMax ? (v > result[j] || v.isNaN) : (v < result[j] || v.isNaN) { result[j] = v }
                }
            }
        case .argmax:
            for j in 0..<inner {
                var best = block[j], bestIndex = 0
                for i in 1..<max(length, 1) where block[i * inner + j] > best {
                    best = block[i * inner + j]
                    bestIndex = i
                }
                result[j] = S(bestIndex)
            }
        }
    }
}

// MARK: - Softmax family (last axis)

/// softmax or log-softmax of each row, max-shifted so exp never overflows. Three passes so that the
/// exponentials run as one vector call over the whole buffer (rows are often only 2–8 wide):
/// y = x − max_row; y = exp(y); then normalise each row (softmax) or y = x − (max + log Σ) (log-softmax).
/// With a `temperature` τ ≠ 1 it is softmax(x/τ), the division folded into the shift pass ((x − max)/τ).
func softmaxKernel<S: TensorScalar>(_ x: UnsafePointer<S>, _ y: UnsafeMutablePointer<S>, rows: Int, columns: Int,
                                    log: Bool, temperature: S = 1, exp vectorExp: VectorUnary<S>) {
    if rows == 0 || columns == 0 { return }
    var maxima = [S](repeating: 0, count: rows)
    for r in 0..<rows {
        let xr = x + r * columns, yr = y + r * columns
        var m = xr[0]
        for j in 1..<columns where xr[j] > m { m = xr[j] }
        if m == -S.infinity { m = 0 }
        maxima[r] = m
        if temperature == 1 {
            for j in 0..<columns { yr[j] = xr[j] - m }
        } else {
            for j in 0..<columns { yr[j] = (xr[j] - m) / temperature }
        }
    }
    vectorExp(DG_EXP, UnsafePointer(y), y, rows * columns)
    for r in 0..<rows {
        let xr = x + r * columns, yr = y + r * columns
        var total: S = 0
        for j in 0..<columns { total += yr[j] }
        if log {
            precondition(temperature == 1, "log-softmax with a temperature is not implemented")
            let shift = maxima[r] + S.log(total)
            for j in 0..<columns { yr[j] = xr[j] - shift }
        } else {
            let inv = 1 / total
            for j in 0..<columns { yr[j] *= inv }
        }
    }
}

func logSumExpKernel<S: TensorScalar>(_ x: UnsafePointer<S>, _ y: UnsafeMutablePointer<S>, rows: Int, columns: Int,
                                      exp vectorExp: VectorUnary<S>) {
    if rows == 0 { return }
    if columns == 0 { for r in 0..<rows { y[r] = -S.infinity }; return }
    let shifted = UnsafeMutablePointer<S>.allocate(capacity: rows * columns)
    defer { shifted.deallocate() }
    for r in 0..<rows {
        let xr = x + r * columns
        var m = xr[0]
        for j in 1..<columns where xr[j] > m { m = xr[j] }
        y[r] = m
        let finite = m != -S.infinity && m != S.infinity
        for j in 0..<columns { shifted[r * columns + j] = finite ? xr[j] - m : 0 }
    }
    vectorExp(DG_EXP, UnsafePointer(shifted), shifted, rows * columns)
    for r in 0..<rows {
        let m = y[r]
        if m == -S.infinity || m == S.infinity { continue }
        var total: S = 0
        for j in 0..<columns { total += shifted[r * columns + j] }
        y[r] = m + S.log(total)
    }
}

// MARK: - Select and random fill

/// out = mask != 0 ? a : b, all dense of the same length (exact, unlike mask*a + (1-mask)*b, which
/// turns an infinity in the unselected branch into NaN).
func selectKernel<S: TensorScalar>(_ mask: UnsafePointer<S>, _ a: UnsafePointer<S>, _ b: UnsafePointer<S>,
                                   _ out: UnsafeMutablePointer<S>, _ n: Int) {
    for i in 0..<n { out[i] = mask[i] != 0 ? a[i] : b[i] }
}

func uniformKernel<S: TensorScalar>(_ rng: inout RandomStream, _ out: UnsafeMutablePointer<S>, _ n: Int) {
    for i in 0..<n { out[i] = S.openUnit(rng.next()) }
}

/// True if no element is NaN or infinite, without allocating: 0·x is NaN exactly for those, and a
/// NaN survives the 8-lane sum (vectorised; checked on every gradient of every step).
func allFiniteKernel<S: TensorScalar>(_ x: UnsafePointer<S>, _ n: Int) -> Bool {
    var lanes = SIMD8<S>()
    var i = 0
    let raw = UnsafeRawPointer(x)
    while i + 8 <= n {
        lanes += raw.loadUnaligned(fromByteOffset: i * MemoryLayout<S>.stride, as: SIMD8<S>.self) * 0
        i += 8
    }
    var tail: S = 0
    while i < n { tail += x[i] * 0; i += 1 }
    return !(lanes.sum() + tail).isNaN
}
