// Differentiable ops. Each forward calls the value-level kernel; each backward rule is written in
// these same ops, which is what makes higher-order gradients work (see Variable.swift).
// Shape comments: B = batch, K = classes / last axis.

// MARK: - Arithmetic with broadcasting

extension Variable {
    public static func + (a: Variable, b: Variable) -> Variable {
        record(a.value + b.value, [a, b]) { g, node, needed in
            [needed[0] ? g.summed(toShape: node.inputs[0].shape) : nil,
             needed[1] ? g.summed(toShape: node.inputs[1].shape) : nil]
        }
    }

    public static func - (a: Variable, b: Variable) -> Variable {
        record(a.value - b.value, [a, b]) { g, node, needed in
            [needed[0] ? g.summed(toShape: node.inputs[0].shape) : nil,
             needed[1] ? (-g).summed(toShape: node.inputs[1].shape) : nil]
        }
    }

    public static func * (a: Variable, b: Variable) -> Variable {
        record(a.value * b.value, [a, b]) { g, node, needed in
            let (a, b) = (node.inputs[0], node.inputs[1])
            return [needed[0] ? (g * b).summed(toShape: a.shape) : nil,
                    needed[1] ? (g * a).summed(toShape: b.shape) : nil]
        }
    }

    public static func / (a: Variable, b: Variable) -> Variable {
        record(a.value / b.value, [a, b]) { g, node, needed in
            let (a, b) = (node.inputs[0], node.inputs[1])
            return [needed[0] ? (g / b).summed(toShape: a.shape) : nil,
                    needed[1] ? (-(g * node) / b).summed(toShape: b.shape) : nil]
        }
    }

    public static prefix func - (a: Variable) -> Variable {
        record(a.value.neg(), [a]) { g, _, _ in [-g] }
    }

    public static func + (a: Variable, b: S) -> Variable { a + Variable(b) }
    public static func - (a: Variable, b: S) -> Variable { a - Variable(b) }
    public static func * (a: Variable, b: S) -> Variable { a * Variable(b) }
    public static func / (a: Variable, b: S) -> Variable { a / Variable(b) }
    public static func + (a: S, b: Variable) -> Variable { Variable(a) + b }
    public static func - (a: S, b: Variable) -> Variable { Variable(a) - b }
    public static func * (a: S, b: Variable) -> Variable { Variable(a) * b }
    public static func / (a: S, b: Variable) -> Variable { Variable(a) / b }
}

// MARK: - Unary functions

extension Variable {
    public func exp() -> Variable {
        Variable.record(value.exp(), [self]) { g, node, _ in [g * node] }
    }

    public func log() -> Variable {
        Variable.record(value.log(), [self]) { g, node, _ in [g / node.inputs[0]] }
    }

    public func log1p() -> Variable {
        Variable.record(value.log1p(), [self]) { g, node, _ in [g / (node.inputs[0] + 1)] }
    }

    public func sigmoid() -> Variable {
        Variable.record(value.sigmoid(), [self]) { g, node, _ in [g * node * (1 - node)] }
    }

    public func tanh() -> Variable {
        Variable.record(value.tanh(), [self]) { g, node, _ in [g * (1 - node.square())] }
    }

    /// log(1 + e^x), computed stably; d/dx = sigmoid(x).
    public func softplus() -> Variable {
        Variable.record(value.softplus(), [self]) { g, node, _ in [g * node.inputs[0].sigmoid()] }
    }

    /// log sigmoid(x) = -softplus(-x); d/dx = sigmoid(-x).
    public func logSigmoid() -> Variable {
        Variable.record(value.logSigmoid(), [self]) { g, node, _ in [g * (-node.inputs[0]).sigmoid()] }
    }

    /// max(x, 0). Its derivative is the constant mask 1[x > 0] (0 at the kink, like PyTorch).
    public func relu() -> Variable {
        Variable.record(value.relu(), [self]) { g, node, _ in [g * Variable(node.inputs[0].value.step())] }
    }

    /// max(x, slope·x) for 0 < slope < 1.
    public func leakyRelu(slope: S = 0.01) -> Variable {
        let mask = value.step()
        let factor = Variable(mask + (1 - mask) * slope)
        return self * factor
    }

    public func square() -> Variable {
        Variable.record(value.square(), [self]) { g, node, _ in [g * node.inputs[0] * 2] }
    }

    public func sqrt() -> Variable {
        Variable.record(value.sqrt(), [self]) { g, node, _ in [g / (node * 2)] }
    }

    public func abs() -> Variable {
        let sign = value.step() - value.neg().step()
        return self * Variable(sign)
    }

    /// Elementwise power with a constant exponent.
    public func pow(_ exponent: S) -> Variable {
        Variable.record(value.pow(Tensor(exponent)), [self]) { g, node, _ in
            [g * node.inputs[0].pow(exponent - 1) * exponent]
        }
    }
}

// MARK: - Shape

extension Variable {
    public func reshaped(_ shape: [Int]) -> Variable {
        Variable.record(value.reshaped(shape), [self]) { g, node, _ in [g.reshaped(node.inputs[0].shape)] }
    }

    /// Explicit broadcast; its backward sums over the stretched axes.
    public func expanded(to shape: [Int]) -> Variable {
        if self.shape == shape { return self }
        return Variable.record(value.expanded(to: shape), [self]) { g, node, _ in [g.summed(toShape: node.inputs[0].shape)] }
    }

    /// Sums over broadcast axes down to `shape`; its backward broadcasts back.
    public func summed(toShape shape: [Int]) -> Variable {
        if self.shape == shape { return self }
        return Variable.record(value.summed(toShape: shape), [self]) { g, node, _ in [g.expanded(to: node.inputs[0].shape)] }
    }

    public func transposed() -> Variable {
        Variable.record(value.transposed(), [self]) { g, _, _ in [g.transposed()] }
    }

    /// The parts one after another along the first axis (all other axes equal). Backward: each part's
    /// rows of the gradient.
    public static func concatenated(_ parts: [Variable]) -> Variable {
        record(Tensor.concatenated(parts.map(\.value)), parts) { g, node, needed in
            var start = 0
            return node.inputs.enumerated().map { index, part in
                defer { start += part.shape[0] }
                return needed[index] ? g.sliced(rows: start..<(start + part.shape[0])) : nil
            }
        }
    }

    /// Rows `rows` of the first axis. Backward: the gradient padded with zero rows back to the full shape.
    public func sliced(rows: Range<Int>) -> Variable {
        let total = shape[0]
        return Variable.record(value.sliced(rows: rows), [self]) { g, _, _ in
            [g.padded(rowsBefore: rows.lowerBound, rowsAfter: total - rows.upperBound)]
        }
    }

    /// Zero rows added before and after along the first axis. Backward: the middle rows of the gradient.
    public func padded(rowsBefore: Int, rowsAfter: Int) -> Variable {
        Variable.record(value.padded(rowsBefore: rowsBefore, rowsAfter: rowsAfter), [self]) { g, node, _ in
            [g.sliced(rows: rowsBefore..<(rowsBefore + node.inputs[0].shape[0]))]
        }
    }
}

// MARK: - Reductions

extension Variable {
    public func sum() -> Variable {
        Variable.record(value.sum(), [self]) { g, node, _ in [g.expanded(to: node.inputs[0].shape)] }
    }

    public func mean() -> Variable { sum() / S(Swift.max(value.count, 1)) }

    public func sum(alongAxis axis: Int, keepingDimensions: Bool = false) -> Variable {
        let a = value.normalizedAxis(axis)
        return Variable.record(value.sum(alongAxis: a, keepingDimensions: keepingDimensions), [self]) { g, node, _ in
            var kept = node.inputs[0].shape
            kept[a] = 1
            return [g.reshaped(kept).expanded(to: node.inputs[0].shape)]
        }
    }

    public func mean(alongAxis axis: Int, keepingDimensions: Bool = false) -> Variable {
        sum(alongAxis: axis, keepingDimensions: keepingDimensions) / S(shape[value.normalizedAxis(axis)])
    }
}

// MARK: - Softmax family (last axis)

extension Variable {
    /// Fused stable log-softmax. Backward: g − softmax(x)·Σg, with softmax = exp(output).
    public func logSoftmax() -> Variable {
        Variable.record(value.logSoftmax(), [self]) { g, node, _ in
            [g - node.exp() * g.sum(alongAxis: -1, keepingDimensions: true)]
        }
    }

    /// Fused stable softmax. Backward: the O(K) Jacobian-vector product y ⊙ (g − ⟨g, y⟩).
    public func softmax() -> Variable {
        Variable.record(value.softmax(), [self]) { g, node, _ in
            [node * (g - (g * node).sum(alongAxis: -1, keepingDimensions: true))]
        }
    }

    /// log Σ exp along the last axis. Backward: g · softmax(x), written as exp(x − output).
    public func logSumExp(keepingDimensions: Bool = false) -> Variable {
        Variable.record(value.logSumExp(keepingDimensions: keepingDimensions), [self]) { g, node, _ in
            let x = node.inputs[0]
            var kept = x.shape
            kept[kept.count - 1] = 1
            let out = node.reshaped(kept), upstream = g.reshaped(kept)
            return [upstream * (x - out).exp()]
        }
    }
}

// MARK: - Matrix product

/// `op(a) · op(b)` via BLAS gemm. The backward rules are again gemms with transpose flags, so no
/// transpose is ever materialised:
/// dA = g·op(B)ᵀ (or op(B)·gᵀ when A is transposed), dB = op(A)ᵀ·g (or gᵀ·op(A)).
public func matmul<S>(_ a: Variable<S>, _ b: Variable<S>, transposeA: Bool = false, transposeB: Bool = false) -> Variable<S> {
    Variable.record(Tensor.matmul(a.value, b.value, transposeA: transposeA, transposeB: transposeB), [a, b]) { g, node, needed in
        let (a, b) = (node.inputs[0], node.inputs[1])
        let ga = !needed[0] ? nil
            : transposeA ? matmul(b, g, transposeA: transposeB, transposeB: true)
            : matmul(g, b, transposeA: false, transposeB: !transposeB)
        let gb = !needed[1] ? nil
            : transposeB ? matmul(g, a, transposeA: true, transposeB: transposeA)
            : matmul(a, g, transposeA: !transposeA, transposeB: false)
        return [ga, gb]
    }
}

/// x·W + b (x [B, in], W [in, out], b [out]) with the bias added inside the gemm. Backward: the same
/// gemms as `matmul` plus the bias gradient Σ_rows g, all in differentiable ops. A constant x that is
/// mostly zeros (data, one-hot codes) takes the sparse path instead (`SparseRows`).
public func affine<S>(_ x: Variable<S>, _ weight: Variable<S>, _ bias: Variable<S>) -> Variable<S> {
    if !x.requiresGradient, let sparse = SparseRows.ifSparse(x.value) { return affine(sparse, weight, bias) }
    return Variable.record(Tensor.affine(x.value, weight.value, bias.value), [x, weight, bias]) { g, node, needed in
        let (x, w) = (node.inputs[0], node.inputs[1])
        return [needed[0] ? matmul(g, w, transposeB: true) : nil,
                needed[1] ? matmul(x, g, transposeA: true) : nil,
                needed[2] ? g.sum(alongAxis: 0) : nil]
    }
}

// MARK: - Fused Bernoulli log-likelihood

extension Variable {
    /// Σ over the last axis of softplus(l) − t·l = −log Bernoulli(t | σ(l)) for constant targets t in
    /// [0, 1] (grey levels allowed), in one pass. Backward: the fused (σ(l) − t)·g, itself differentiable.
    public func sigmoidCrossEntropy(targets: Tensor<S>) -> Variable {
        Variable.record(value.sigmoidCrossEntropy(targets: targets), [self]) { g, node, _ in
            [node.inputs[0].sigmoidCrossEntropyGradient(targets: targets, upstream: g)]
        }
    }

    /// (σ(l) − t)·g with g broadcast along the last axis, in one pass. Backward: ∂/∂l = u·σ(l)(1 − σ(l))·g,
    /// ∂/∂g = Σ_last u·(σ(l) − t), both from one pass of `sigmoidCurvature` (REBAR's and RELAX's double
    /// backprop runs it on every relaxed evaluation).
    public func sigmoidCrossEntropyGradient(targets: Tensor<S>, upstream: Variable) -> Variable {
        Variable.record(value.sigmoidCrossEntropyGradient(targets: targets, upstream: upstream.value),
                        [self, upstream]) { u, node, needed in
            let (l, g) = (node.inputs[0], node.inputs[1])
            let (curvature, residual) = l.sigmoidCurvature(upstream: u, rowScale: needed[0] ? g : nil,
                                                           targets: needed[1] ? targets : nil)
            return [curvature, residual?.sum(alongAxis: -1)]
        }
    }

    /// With s = σ(self): the curvature ((u·s)·(1 − s))·g (g [...] broadcast along the last axis) if
    /// `rowScale` is given, and the residual u·(s − t) if `targets` is, computed in one pass with the same
    /// bits as those compositions. Each is an op of its own, its backward written in primitives:
    /// curvature: ∂/∂l = w·u·g·s(1 − s)(1 − 2s), ∂/∂u = w·s(1 − s)·g, ∂/∂g = Σ_last w·u·s(1 − s);
    /// residual: ∂/∂l = w·u·s(1 − s), ∂/∂u = w·(s − t).
    public func sigmoidCurvature(upstream: Variable, rowScale: Variable?, targets: Tensor<S>?) -> (curvature: Variable?, residual: Variable?) {
        let (c, r) = value.sigmoidCurvature(upstream: upstream.value, rowScale: rowScale?.value, targets: targets)
        let curvature = rowScale.map { g in
            Variable.record(c!, [self, upstream, g]) { w, node, needed in
                let (l, u, g) = (node.inputs[0], node.inputs[1], node.inputs[2])
                let s = l.sigmoid()
                let slope = s * (1 - s), gb = g.reshaped(g.shape + [1])
                return [needed[0] ? w * u * gb * slope * (1 - 2 * s) : nil,
                        needed[1] ? w * slope * gb : nil,
                        needed[2] ? (w * u * slope).sum(alongAxis: -1) : nil]
            }
        }
        let residual = targets.map { t in
            Variable.record(r!, [self, upstream]) { w, node, needed in
                let (l, u) = (node.inputs[0], node.inputs[1])
                let s = l.sigmoid()
                return [needed[0] ? w * u * s * (1 - s) : nil, needed[1] ? w * (s - Variable(t)) : nil]
            }
        }
        return (curvature, residual)
    }
}

// MARK: - Bernoulli KL

extension Variable {
    /// Per unit, KL(Bernoulli(σ(a)) ‖ Bernoulli(σ(p))) = q·(log σ(a) − log σ(p)) + (1 − q)·(log σ(−a) − log σ(−p)),
    /// q = σ(a), for logits a = self [..., N] and prior logits p [N], in one pass (the same bits as those single
    /// ops). Backward from the closed forms ∂/∂a = σ(a)(1 − σ(a))·(a − p), ∂/∂p = σ(p) − σ(a) (summed over
    /// the batch), in primitives.
    public func bernoulliKLTerms(prior: Variable) -> Variable {
        precondition(!shape.isEmpty && prior.shape == [shape[shape.count - 1]], "bernoulliKLTerms: logits \(shape), prior \(prior.shape)")
        var out = Tensor<S>(uninitializedShape: shape)
        let columns = shape[shape.count - 1], rows = value.count / Swift.max(columns, 1)
        value.withUnsafePointer { a in
            prior.value.withUnsafePointer { p in
                out.withUnsafeMutablePointer { o in
                    Profile.measure(.elementwise) { S._bernoulliKLKernel(a, p, o, rows: rows, columns: columns) }
                }
            }
        }
        return Variable.record(out, [self, prior]) { g, node, needed in
            let (a, p) = (node.inputs[0], node.inputs[1])
            let q = a.sigmoid()
            return [needed[0] ? g * q * (1 - q) * (a - p) : nil,
                    needed[1] ? (g * (p.sigmoid() - q)).summed(toShape: p.shape) : nil]
        }
    }
}

// MARK: - Selection and indexing

extension Variable {
    /// `mask != 0 ? a : b` (mask is a constant). The gradient goes to the branch that was chosen.
    public static func select(_ mask: Tensor<S>, _ a: Variable, _ b: Variable) -> Variable {
        record(Tensor.select(mask, a.value, b.value), [a, b]) { g, node, needed in
            let zero = Variable(Tensor<S>(0))
            return [needed[0] ? Variable.select(mask, g, zero).summed(toShape: node.inputs[0].shape) : nil,
                    needed[1] ? Variable.select(mask, zero, g).summed(toShape: node.inputs[1].shape) : nil]
        }
    }

    /// Picks one entry per row along the last axis: [..., K] -> [...].
    public func gathered(indices: Tensor<S>) -> Variable {
        let classes = shape.last ?? 1
        return Variable.record(value.gathered(indices: indices), [self]) { g, _, _ in
            [g.scattered(indices: indices, classes: classes)]
        }
    }

    /// The adjoint of `gathered`: [...] -> [..., classes] with the values at `indices`, zero elsewhere.
    public func scattered(indices: Tensor<S>, classes: Int) -> Variable {
        Variable.record(value.scattered(indices: indices, classes: classes), [self]) { g, _, _ in
            [g.gathered(indices: indices)]
        }
    }

    /// One-hot rows as a constant.
    public static func oneHot(indices: Tensor<S>, classes: Int) -> Variable {
        Variable(Tensor.oneHot(indices: indices, classes: classes))
    }
}

// MARK: - Custom gradients

extension Variable {
    /// Value `value`, gradient `surrogate`'s: the straight-through construction
    /// `value + surrogate − stopgrad(surrogate)` without the rounding of the sum.
    public static func straightThrough(value: Tensor<S>, surrogate: Variable) -> Variable {
        precondition(value.shape == surrogate.shape, "straightThrough: value \(value.shape) vs surrogate \(surrogate.shape)")
        return record(value, [surrogate]) { g, _, _ in [g] }
    }
}
