// A weighted mixture of softmaxes of K shifted copies of the same logits, fused: the core of the
// Rao-Blackwellised straight-through estimators (Gumbel-Rao, ReinMax-Rao, ReinMax-CV), which average
// the softmax Jacobian over K = 100 conditional Gumbel draws per example.

extension Variable {
    /// Σ_k w_k · softmax((x + sg(z_k − x)) / τ) along the last axis, for x [B, ..., C] and constant
    /// shifted logits z = [z_1; …; z_K] stacked sample-major as [K·B, ..., C].
    ///
    /// Value Σ_k w_k Y_k with Y_k = softmax(z_k/τ); gradient in x: Σ_k w_k J(Y_k)·g/τ, J(y) = diag(y) − yyᵀ,
    /// exactly what the unfused graph (expand x K times, add the detached shift, softmax, weighted sum)
    /// gives. Without recording, the backward is one fused pass over the K·B rows (no [K·B, ..., C]
    /// intermediates beyond Y, kept from the forward); when recording (`createGraph: true`) it is
    /// built from differentiable ops instead, so it can be differentiated again.
    public func softmaxMixture(shifted z: Tensor<S>, weights: [S], temperature: S) -> Variable {
        let shape = self.shape, samples = weights.count
        precondition(shape.count >= 2 && z.shape == [samples * shape[0]] + Array(shape.dropFirst()),
                     "softmaxMixture: logits \(shape), shifted \(z.shape), \(samples) weights")
        let y = z.softmax(temperature: temperature)
        let value = Profile.measure(.elementwise) { Tensor.weightedSum(y, weights: weights, rowsPerSample: self.value.count) }
        return Variable.record(value, [self]) { g, node, _ in
            let x = node.inputs[0]
            guard GradientTape.isRecording else {
                return [Variable(Profile.measure(.elementwise) {
                    Tensor.softmaxMixtureVJP(y, g.value, weights: weights, temperature: temperature)
                })]
            }
            return [Variable.softmaxMixtureGradientGraph(x: x, g: g, shifted: z, weights: weights, temperature: temperature)]
        }
    }

    /// The gradient in x of Σ_k w_k · softmax((x + sg(z_k − x)) / τ) for upstream g: the softmax backward
    /// rule per copy, written in ops, so it is differentiable in x and in g (double backprop).
    static func softmaxMixtureGradientGraph(x: Variable, g: Variable, shifted z: Tensor<S>, weights: [S], temperature: S) -> Variable {
        let shape = x.shape, samples = weights.count
        let xK = x.reshaped([1] + shape).expanded(to: [samples] + shape)
            .reshaped([samples * shape[0]] + Array(shape.dropFirst()))
        let noisy = xK + Variable(z - xK.value)
        let yK = (temperature == 1 ? noisy : noisy / temperature).softmax().reshaped([samples] + shape)
        let gK = g.reshaped([1] + shape)
        let jvp = yK * (gK - (gK * yK).sum(alongAxis: -1, keepingDimensions: true))
        let w = Variable(Tensor(shape: [samples] + Array(repeating: 1, count: shape.count), scalars: weights))
        return (jvp * w).sum(alongAxis: 0) / temperature
    }
}

extension Tensor {
    /// Σ_k w_k · y[k] for y stacked as [K·n] (each block n scalars), in a fixed order (k ascending).
    @_specialize(where S == Float)
    @_specialize(where S == Double)
    static func weightedSum(_ y: Tensor, weights: [S], rowsPerSample n: Int) -> Tensor {
        Tensor(shape: Array([y.shape[0] / weights.count] + y.shape.dropFirst())) { out in
            out.initialize(repeating: 0)
            y.withUnsafeBufferPointer { yp in
                for (k, w) in weights.enumerated() {
                    let block = yp.baseAddress! + k * n
                    for i in 0..<n { out[i] += w * block[i] }
                }
            }
        }
    }

    /// Σ_k (w_k/τ) · y_k ⊙ (g − ⟨g, y_k⟩) along the last axis: the softmax Jacobian products of the K
    /// copies, summed in a fixed order (k ascending) without materialising any of them.
    @_specialize(where S == Float)
    @_specialize(where S == Double)
    static func softmaxMixtureVJP(_ y: Tensor, _ g: Tensor, weights: [S], temperature: S) -> Tensor {
        let classes = g.shape.last!, rows = g.count / classes
        return Tensor(shape: g.shape) { out in
            out.initialize(repeating: 0)
            let o = out.baseAddress!
            y.withUnsafeBufferPointer { yb in
                g.withUnsafeBufferPointer { gb in
                    let (yp, gp) = (yb.baseAddress!, gb.baseAddress!)
                    Parallel.forEachRowChunk(rows: rows, width: classes * weights.count) { chunk in
                        if classes == 4 {
                            return mixtureVJPRows(SIMD4<S>.self, yp, gp, o, rows: rows, chunk: chunk, weights: weights, temperature: temperature)
                        }
                        if classes == 8 {
                            return mixtureVJPRows(SIMD8<S>.self, yp, gp, o, rows: rows, chunk: chunk, weights: weights, temperature: temperature)
                        }
                        for (k, w) in weights.enumerated() {
                            let scale = w / temperature
                            let yk = yp + k * rows * classes
                            for r in chunk {
                                let yr = yk + r * classes, gr = gp + r * classes, orow = o + r * classes
                                var dot: S = 0
                                for c in 0..<classes { dot += gr[c] * yr[c] }
                                for c in 0..<classes { orow[c] += scale * (yr[c] * (gr[c] - dot)) }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// softmaxMixtureVJP for rows exactly one SIMD vector V wide (same operations, same order per element).
@inline(__always)
func mixtureVJPRows<S: TensorScalar, V: SIMD>(_: V.Type, _ y: UnsafePointer<S>, _ g: UnsafePointer<S>, _ out: UnsafeMutablePointer<S>,
                                              rows: Int, chunk: Range<Int>, weights: [S], temperature: S) where V.Scalar == S {
    let width = V.scalarCount, stride = width * MemoryLayout<S>.stride
    let (yr, gr, orow) = (UnsafeRawPointer(y), UnsafeRawPointer(g), UnsafeMutableRawPointer(out))
    for r in chunk {
        let gv = gr.loadUnaligned(fromByteOffset: r * stride, as: V.self)
        var acc = UnsafeRawPointer(orow).loadUnaligned(fromByteOffset: r * stride, as: V.self)
        for (k, w) in weights.enumerated() {
            let yv = yr.loadUnaligned(fromByteOffset: (k * rows + r) * stride, as: V.self)
            let dot = (gv * yv).sum()
            acc += V(repeating: w / temperature) * (yv * (gv - V(repeating: dot)))
        }
        orow.storeBytes(of: acc, toByteOffset: r * stride, as: V.self)
    }
}
