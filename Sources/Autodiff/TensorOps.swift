// Value-level tensor operations (no gradient tracking). The differentiable layer in Ops.swift calls
// these for its forward values and builds its backward rules out of its own ops.

// MARK: - Elementwise

extension Tensor {
    /// Applies an elementwise op (what exp(), sigmoid() etc. call).
    public func mapped(_ op: UnaryOp) -> Tensor {
        var out = Tensor(uninitializedShape: shape)
        Profile.measure(.elementwise) { withUnsafePointer { x in out.withUnsafeMutablePointer { S._unaryKernel(op, x, $0, count) } } }
        return out
    }

    public func neg() -> Tensor { mapped(.neg) }
    public func exp() -> Tensor { mapped(.exp) }
    public func log() -> Tensor { mapped(.log) }
    public func log1p() -> Tensor { mapped(.log1p) }
    public func sigmoid() -> Tensor { mapped(.sigmoid) }
    public func tanh() -> Tensor { mapped(.tanh) }
    public func relu() -> Tensor { mapped(.relu) }
    public func softplus() -> Tensor { mapped(.softplus) }
    public func logSigmoid() -> Tensor { mapped(.logSigmoid) }
    public func square() -> Tensor { mapped(.square) }
    public func sqrt() -> Tensor { mapped(.sqrt) }
    public func abs() -> Tensor { mapped(.abs) }
    public func reciprocal() -> Tensor { mapped(.reciprocal) }
    /// 1 where the value is > 0, else 0.
    public func step() -> Tensor { mapped(.step) }

    func combined(_ op: BinaryOp, _ other: Tensor) -> Tensor {
        // Same shapes, or one side a single scalar: straight to the array kernel (the result is the
        // general path's, element for element).
        if let vectorised = op.vectorised {
            let steps: (a: Int, b: Int, shape: [Int])? =
                shape == other.shape ? (1, 1, shape)
                : other.count == 1 && other.rank <= rank ? (1, 0, shape)
                : count == 1 && rank <= other.rank ? (0, 1, other.shape) : nil
            if let steps {
                var out = Tensor(uninitializedShape: steps.shape)
                let n = out.count
                withUnsafePointer { a in
                    other.withUnsafePointer { b in
                        Profile.measure(.elementwise) {
                            out.withUnsafeMutablePointer { binaryArrayEntry(vectorised, a, steps.a, b, steps.b, $0, n) }
                        }
                    }
                }
                return out
            }
        }
        let outShape = broadcastShape(shape, other.shape)
        var out = Tensor(uninitializedShape: outShape)
        let aStrides = broadcastStrides(shape, to: outShape), bStrides = broadcastStrides(other.shape, to: outShape)
        withUnsafePointer { a in
            other.withUnsafePointer { b in
                Profile.measure(.elementwise) { out.withUnsafeMutablePointer { S._binaryKernel(op, a, aStrides, b, bStrides, $0, outShape) } }
            }
        }
        return out
    }

    public static func + (a: Tensor, b: Tensor) -> Tensor { a.combined(.add, b) }
    public static func - (a: Tensor, b: Tensor) -> Tensor { a.combined(.sub, b) }
    public static func * (a: Tensor, b: Tensor) -> Tensor { a.combined(.mul, b) }
    public static func / (a: Tensor, b: Tensor) -> Tensor { a.combined(.div, b) }
    public static func + (a: Tensor, b: S) -> Tensor { a.combined(.add, Tensor(b)) }
    public static func - (a: Tensor, b: S) -> Tensor { a.combined(.sub, Tensor(b)) }
    public static func * (a: Tensor, b: S) -> Tensor { a.combined(.mul, Tensor(b)) }
    public static func / (a: Tensor, b: S) -> Tensor { a.combined(.div, Tensor(b)) }
    public static func + (a: S, b: Tensor) -> Tensor { Tensor(a).combined(.add, b) }
    public static func - (a: S, b: Tensor) -> Tensor { Tensor(a).combined(.sub, b) }
    public static func * (a: S, b: Tensor) -> Tensor { Tensor(a).combined(.mul, b) }
    public static func / (a: S, b: Tensor) -> Tensor { Tensor(a).combined(.div, b) }
    public static prefix func - (a: Tensor) -> Tensor { a.neg() }

    public func maximum(_ other: Tensor) -> Tensor { combined(.maximum, other) }
    public func minimum(_ other: Tensor) -> Tensor { combined(.minimum, other) }
    public func pow(_ exponent: Tensor) -> Tensor { combined(.pow, exponent) }
    /// 1 where self > other (broadcast), else 0.
    public func greater(_ other: Tensor) -> Tensor { combined(.greater, other) }
    /// 1 where self == other (broadcast), else 0.
    public func equal(_ other: Tensor) -> Tensor { combined(.equal, other) }

    /// `mask != 0 ? a : b` elementwise, all three broadcast to a common shape.
    public static func select(_ mask: Tensor, _ a: Tensor, _ b: Tensor) -> Tensor {
        let outShape = broadcastShape(broadcastShape(mask.shape, a.shape), b.shape)
        let m = mask.expanded(to: outShape), x = a.expanded(to: outShape), y = b.expanded(to: outShape)
        var out = Tensor(uninitializedShape: outShape)
        let n = out.count
        m.withUnsafePointer { mp in
            x.withUnsafePointer { xp in
                y.withUnsafePointer { yp in
                    Profile.measure(.elementwise) { out.withUnsafeMutablePointer { S._selectKernel(mp, xp, yp, $0, n) } }
                }
            }
        }
        return out
    }
}

// MARK: - Shape

extension Tensor {
    /// Broadcasts to `target` (materialised). Returns self unchanged if already that shape.
    public func expanded(to target: [Int]) -> Tensor {
        if shape == target { return self }
        let strides = broadcastStrides(shape, to: target)
        var out = Tensor(uninitializedShape: target)
        Profile.measure(.elementwise) { withUnsafePointer { x in out.withUnsafeMutablePointer { S._stridedCopyKernel(x, strides, $0, target) } } }
        return out
    }

    /// Sums over the axes that broadcasting stretched, so the result has `target` shape: the adjoint of
    /// `expanded(to:)`, used by every broadcasting op's backward rule.
    public func summed(toShape target: [Int]) -> Tensor {
        if shape == target { return self }
        precondition(target.count <= rank, "cannot sum \(shape) to \(target)")
        var result = self
        // Leading axes that the target lacks.
        while result.rank > target.count { result = result.sum(alongAxis: 0) }
        for axis in 0..<target.count where target[axis] == 1 && result.shape[axis] != 1 {
            result = result.sum(alongAxis: axis, keepingDimensions: true)
        }
        precondition(result.shape == target, "cannot sum \(shape) to \(target)")
        return result
    }

    /// Matrix transpose of a rank-2 tensor.
    public func transposed() -> Tensor {
        precondition(rank == 2, "transposed() needs a matrix, got shape \(shape)")
        let outShape = [shape[1], shape[0]]
        var out = Tensor(uninitializedShape: outShape)
        Profile.measure(.elementwise) { withUnsafePointer { x in out.withUnsafeMutablePointer { S._stridedCopyKernel(x, [1, shape[1]], $0, outShape) } } }
        return out
    }
}

// MARK: - Reductions

extension Tensor {
    func reduced(_ op: ReduceOp, alongAxis axis: Int, keepingDimensions: Bool) -> Tensor {
        let a = normalizedAxis(axis)
        let outer = shape[..<a].reduce(1, *), length = shape[a], inner = shape[(a + 1)...].reduce(1, *)
        var kept = shape
        kept[a] = 1
        var out = Tensor(uninitializedShape: kept)
        withUnsafePointer { x in
            Profile.measure(.elementwise) { out.withUnsafeMutablePointer { S._reduceKernel(op, x, outer: outer, length: length, inner: inner, $0) } }
        }
        if keepingDimensions { return out }
        var dropped = shape
        dropped.remove(at: a)
        return out.reshaped(dropped)
    }

    public func sum(alongAxis axis: Int, keepingDimensions: Bool = false) -> Tensor {
        reduced(.sum, alongAxis: axis, keepingDimensions: keepingDimensions)
    }
    public func max(alongAxis axis: Int, keepingDimensions: Bool = false) -> Tensor {
        reduced(.max, alongAxis: axis, keepingDimensions: keepingDimensions)
    }
    public func min(alongAxis axis: Int, keepingDimensions: Bool = false) -> Tensor {
        reduced(.min, alongAxis: axis, keepingDimensions: keepingDimensions)
    }
    public func mean(alongAxis axis: Int, keepingDimensions: Bool = false) -> Tensor {
        sum(alongAxis: axis, keepingDimensions: keepingDimensions) / S(shape[normalizedAxis(axis)])
    }
    /// Index of the largest value along `axis` (first one on ties), as scalars.
    public func argmax(alongAxis axis: Int, keepingDimensions: Bool = false) -> Tensor {
        reduced(.argmax, alongAxis: axis, keepingDimensions: keepingDimensions)
    }
    /// Index of the largest value along the last axis (first one on ties), as scalars.
    public func argmax() -> Tensor { argmax(alongAxis: -1) }

    /// Sum of all elements as a rank-0 tensor.
    public func sum() -> Tensor {
        var out = Tensor(uninitializedShape: [])
        Profile.measure(.elementwise) { withUnsafePointer { x in out.withUnsafeMutablePointer { S._reduceKernel(.sum, x, outer: 1, length: count, inner: 1, $0) } } }
        return out
    }
    public func mean() -> Tensor { sum() / S(Swift.max(count, 1)) }
}

// MARK: - Softmax family (last axis)

extension Tensor {
    var rows: Int { count / Swift.max(shape.last ?? 1, 1) }

    /// softmax(x/τ) along the last axis (τ = 1: the plain softmax), the division folded into the kernel.
    public func softmax(temperature: S = 1) -> Tensor {
        precondition(temperature > 0, "softmax temperature must be positive, got \(temperature)")
        var out = Tensor(uninitializedShape: shape)
        let columns = shape.last ?? 1
        Profile.measure(.elementwise) { withUnsafePointer { x in out.withUnsafeMutablePointer {
            S._softmaxKernel(x, $0, rows: rows, columns: columns, log: false, temperature: temperature)
        } } }
        return out
    }

    public func logSoftmax() -> Tensor {
        var out = Tensor(uninitializedShape: shape)
        let columns = shape.last ?? 1
        Profile.measure(.elementwise) { withUnsafePointer { x in out.withUnsafeMutablePointer { S._softmaxKernel(x, $0, rows: rows, columns: columns, log: true, temperature: 1) } } }
        return out
    }

    /// log Σ exp along the last axis, max-shifted.
    public func logSumExp(keepingDimensions: Bool = false) -> Tensor {
        var kept = shape
        kept[kept.count - 1] = 1
        var out = Tensor(uninitializedShape: kept)
        let columns = shape.last ?? 1
        Profile.measure(.elementwise) { withUnsafePointer { x in out.withUnsafeMutablePointer { S._logSumExpKernel(x, $0, rows: rows, columns: columns) } } }
        return keepingDimensions ? out : out.reshaped(Array(shape.dropLast()))
    }
}

// MARK: - Fused Bernoulli log-likelihood from logits

extension Tensor {
    /// Σ over the last axis of softplus(l) − t·l, i.e. −log Bernoulli(t | σ(l)) summed: [..., D] → [...].
    /// One pass, no intermediate tensors.
    public func sigmoidCrossEntropy(targets: Tensor) -> Tensor {
        precondition(shape == targets.shape && rank >= 1, "sigmoidCrossEntropy: logits \(shape) vs targets \(targets.shape)")
        let columns = shape[rank - 1], rows = self.rows
        var out = Tensor(uninitializedShape: Array(shape.dropLast()))
        withUnsafePointer { l in
            targets.withUnsafePointer { t in
                Profile.measure(.elementwise) { out.withUnsafeMutablePointer { S._sigmoidCrossEntropyKernel(l, t, $0, rows: rows, columns: columns) } }
            }
        }
        return out
    }

    /// (σ(l) − t)·g broadcast along the last axis: the gradient of `sigmoidCrossEntropy` for upstream g [...].
    public func sigmoidCrossEntropyGradient(targets: Tensor, upstream: Tensor) -> Tensor {
        precondition(shape == targets.shape && Array(shape.dropLast()) == upstream.shape,
                     "sigmoidCrossEntropyGradient: logits \(shape), targets \(targets.shape), upstream \(upstream.shape)")
        let columns = shape[rank - 1], rows = self.rows
        var out = Tensor(uninitializedShape: shape)
        withUnsafePointer { l in
            targets.withUnsafePointer { t in
                upstream.withUnsafePointer { g in
                    Profile.measure(.elementwise) { out.withUnsafeMutablePointer { S._sigmoidCrossEntropyBackwardKernel(l, t, g, $0, rows: rows, columns: columns) } }
                }
            }
        }
        return out
    }

    /// The backward of `sigmoidCrossEntropyGradient` (self = the logits l) for an upstream u of l's shape,
    /// in one pass, s = σ(l): the curvature ((u·s)·(1 − s))·g (g [...] broadcast along the last axis), if
    /// `rowScale` is given, and the residual u·(s − t), if `targets` is. Same bits as those compositions of
    /// single ops.
    public func sigmoidCurvature(upstream: Tensor, rowScale: Tensor?, targets: Tensor?) -> (curvature: Tensor?, residual: Tensor?) {
        precondition(upstream.shape == shape && rank >= 1 && (rowScale.map { $0.shape == Array(shape.dropLast()) } ?? true)
                     && (targets.map { $0.shape == shape } ?? true),
                     "sigmoidCurvature: logits \(shape), upstream \(upstream.shape), rowScale \(rowScale?.shape ?? []), targets \(targets?.shape ?? [])")
        let columns = shape[rank - 1], rows = self.rows
        // Fresh buffers, written in place (each is this function's only reference).
        let curvature = rowScale.map { _ in Tensor(uninitializedShape: shape) }
        let residual = targets.map { _ in Tensor(uninitializedShape: shape) }
        let c = curvature.map { $0.buffer.base }, r = residual.map { $0.buffer.base }
        withUnsafePointer { l in
            upstream.withUnsafePointer { u in
                Profile.measure(.elementwise) {
                    S._sigmoidCurvatureKernel(l, u, rowScale.map { UnsafePointer($0.buffer.base) }, targets.map { UnsafePointer($0.buffer.base) },
                                              c, r, rows: rows, columns: columns)
                }
            }
        }
        return (curvature, residual)
    }
}

// MARK: - Rows of the first axis

extension Tensor {
    /// The parts one after another along the first axis; every other axis must match.
    public static func concatenated(_ parts: [Tensor]) -> Tensor {
        precondition(!parts.isEmpty && parts.allSatisfy { $0.rank >= 1 && $0.shape.dropFirst() == parts[0].shape.dropFirst() },
                     "concatenated: parts must agree on all but the first axis, got \(parts.map(\.shape))")
        var out = Tensor(uninitializedShape: [parts.reduce(0) { $0 + $1.shape[0] }] + parts[0].shape.dropFirst())
        out.withUnsafeMutablePointer { o in
            var offset = 0
            for part in parts {
                part.withUnsafePointer { (o + offset).update(from: $0, count: part.count) }
                offset += part.count
            }
        }
        return out
    }

    /// Rows `rows` of the first axis (a copy).
    public func sliced(rows: Range<Int>) -> Tensor {
        precondition(rank >= 1 && rows.lowerBound >= 0 && rows.upperBound <= shape[0],
                     "sliced: rows \(rows) of a tensor of shape \(shape)")
        let width = count / Swift.max(shape[0], 1)
        var out = Tensor(uninitializedShape: [rows.count] + shape.dropFirst())
        withUnsafePointer { x in out.withUnsafeMutablePointer { $0.update(from: x + rows.lowerBound * width, count: rows.count * width) } }
        return out
    }

    /// Zero rows before and after along the first axis.
    public func padded(rowsBefore: Int, rowsAfter: Int) -> Tensor {
        precondition(rank >= 1 && rowsBefore >= 0 && rowsAfter >= 0, "padded: \(rowsBefore), \(rowsAfter) rows around \(shape)")
        let width = count / Swift.max(shape[0], 1)
        var out = Tensor(uninitializedShape: [rowsBefore + shape[0] + rowsAfter] + shape.dropFirst())
        withUnsafePointer { x in
            out.withUnsafeMutablePointer { o in
                o.update(repeating: 0, count: rowsBefore * width)
                (o + rowsBefore * width).update(from: x, count: count)
                (o + (rowsBefore + shape[0]) * width).update(repeating: 0, count: rowsAfter * width)
            }
        }
        return out
    }
}

// MARK: - Indexing along the last axis

extension Tensor {
    /// One-hot rows: `indices` (any shape, integer-valued scalars) -> shape + [classes].
    @_specialize(where S == Float)
    @_specialize(where S == Double)
    public static func oneHot(indices: Tensor, classes: Int) -> Tensor {
        Tensor(shape: indices.shape + [classes]) { out in
            out.initialize(repeating: 0)
            for i in 0..<indices.count {
                let k = Int(indices[flat: i])
                precondition(k >= 0 && k < classes, "class index \(k) out of range 0..<\(classes)")
                out[i * classes + k] = 1
            }
        }
    }

    /// Picks `self[..., indices[...]]` along the last axis: [..., K] and [...] -> [...].
    @_specialize(where S == Float)
    @_specialize(where S == Double)
    public func gathered(indices: Tensor) -> Tensor {
        let classes = shape.last ?? 1
        precondition(Array(shape.dropLast()) == indices.shape, "gather: \(shape) with indices \(indices.shape)")
        return Tensor(shape: indices.shape) { out in
            withUnsafePointer { x in
                for i in 0..<indices.count { out[i] = x[i * classes + Int(indices[flat: i])] }
            }
        }
    }

    /// The adjoint of `gathered`: places each value at its index in a zero row of `classes`.
    @_specialize(where S == Float)
    @_specialize(where S == Double)
    public func scattered(indices: Tensor, classes: Int) -> Tensor {
        precondition(shape == indices.shape, "scatter: values \(shape) with indices \(indices.shape)")
        return Tensor(shape: shape + [classes]) { out in
            out.initialize(repeating: 0)
            withUnsafePointer { x in
                for i in 0..<indices.count { out[i * classes + Int(indices[flat: i])] += x[i] }
            }
        }
    }
}

// MARK: - Matrix product

extension Tensor {
    /// x·W + b for x [B, in], W [in, out], b [out]: the bias rows are written first and gemm accumulates
    /// onto them (beta = 1), so no separate broadcast-add pass or intermediate tensor.
    public static func affine(_ x: Tensor, _ weight: Tensor, _ bias: Tensor) -> Tensor {
        precondition(x.rank == 2 && weight.rank == 2 && bias.shape == [weight.shape[1]] && x.shape[1] == weight.shape[0],
                     "affine: x \(x.shape), weight \(weight.shape), bias \(bias.shape)")
        let (m, k, n) = (x.shape[0], x.shape[1], weight.shape[1])
        var out = Tensor(uninitializedShape: [m, n])
        Profile.measure(.gemm) { out.withUnsafeMutablePointer { o in
            bias.withUnsafePointer { b in
                for row in 0..<m { (o + row * n).update(from: b, count: n) }
            }
            if m == 0 || n == 0 || k == 0 { return }
            x.withUnsafePointer { xp in
                weight.withUnsafePointer { wp in
                    splitGemm(transposeA: false, transposeB: false, m: m, n: n, k: k,
                              a: xp, lda: k, b: wp, ldb: n, beta: 1, c: o, ldc: n)
                }
            }
        } }
        return out
    }

    /// `op(a) · op(b)` for rank-2 tensors through BLAS gemm; `op` transposes when its flag is set.
    public static func matmul(_ a: Tensor, _ b: Tensor, transposeA: Bool = false, transposeB: Bool = false) -> Tensor {
        precondition(a.rank == 2 && b.rank == 2, "matmul needs matrices, got \(a.shape) and \(b.shape)")
        let m = transposeA ? a.shape[1] : a.shape[0], k = transposeA ? a.shape[0] : a.shape[1]
        let kb = transposeB ? b.shape[1] : b.shape[0], n = transposeB ? b.shape[0] : b.shape[1]
        precondition(k == kb, "matmul inner dimensions differ: \(a.shape)\(transposeA ? "ᵀ" : "") · \(b.shape)\(transposeB ? "ᵀ" : "")")
        var out = Tensor(uninitializedShape: [m, n])
        if k == 0 {
            out.withUnsafeMutablePointer { $0.initialize(repeating: 0, count: m * n) }
            return out
        }
        if m == 0 || n == 0 { return out }
        Profile.measure(.gemm) { a.withUnsafePointer { ap in
            b.withUnsafePointer { bp in
                out.withUnsafeMutablePointer { cp in
                    splitGemm(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k,
                              a: ap, lda: a.shape[1], b: bp, ldb: b.shape[1], beta: 0, c: cp, ldc: n)
                }
            }
        } }
        return out
    }
}


/// `C = op(A)·op(B) + beta·C` with single-threaded BLAS calls on column slices of C, one per thread of the
/// run's pool (the BLAS library itself runs single-threaded: its own thread pool would spin between calls
/// against ours). Slices start at multiples of 16 columns and depend only on n and the thread count, so a
/// fixed thread count gives the same bits every time. Small products run as one call.
@inline(__always)
func splitGemm<S: TensorScalar>(transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
                                a: UnsafePointer<S>, lda: Int, b: UnsafePointer<S>, ldb: Int,
                                beta: S, c: UnsafeMutablePointer<S>, ldc: Int) {
    let slices = Swift.min(Parallel.threads, n / 16)
    if slices <= 1 || m * n * k < Parallel.minimumGemm {
        S._gemm(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: 1,
                a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
        return
    }
    let blocks = (n + 15) / 16
    Parallel.run(tasks: slices) { i in
        let n0 = Swift.min(n, i * blocks / slices * 16), n1 = Swift.min(n, (i + 1) * blocks / slices * 16)
        if n1 <= n0 { return }
        S._gemm(transposeA: transposeA, transposeB: transposeB, m: m, n: n1 - n0, k: k, alpha: 1,
                a: a, lda: lda, b: transposeB ? b + n0 * ldb : b + n0, ldb: ldb, beta: beta, c: c + n0, ldc: ldc)
    }
}
