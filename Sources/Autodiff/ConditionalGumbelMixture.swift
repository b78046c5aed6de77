// The Rao-Blackwellised straight-through estimators' inner loop as one op: K conditional Gumbel draws
// per example and the weighted mixture of their tempered softmaxes, fused in CKernels
// (dg_cond_gumbel_mixture_*): the draws never exist as a [K·B, ..., C] tensor, and at τ = 1 the
// tempered softmax of a draw costs a reciprocal instead of a logarithm and an exponential.

/// Pointers and sizes for one call of the fused kernel; valid only inside the call that builds it.
public struct ConditionalGumbelMixtureArguments<S: TensorScalar> {
    let theta: UnsafePointer<S>, code: UnsafePointer<S>, seeds: UnsafePointer<UInt64>
    let rowCount: Int, classes: Int, samples: Int, stride: Int
    let weights: UnsafePointer<S>, temperature: S
    let y: UnsafeMutablePointer<S>, value: UnsafeMutablePointer<S>, z: UnsafeMutablePointer<S>?
}

extension Variable {
    /// Σ_k w_k · softmax((x + sg(z_k − x)) / τ) along the last axis, where z_1, …, z_K are K draws per row
    /// of θ + G conditioned on argmax(θ + G) = D (Maddison et al. 2014), for noise logits θ (constant: the
    /// noise carries no gradient) and the one-hot sample D = `code`, all three of this variable's shape.
    ///
    /// The same quantity as `softmaxMixture(shifted:)` on K conditional draws stacked as [K·B, ..., C]
    /// (value Σ_k w_k softmax(z_k/τ); gradient in x Σ_k w_k J(y_k)·g/τ), in one pass per row that keeps
    /// only the K softmaxes y_k for the backward. Each row draws from its own SplitMix64 stream, seeded
    /// from `rng` (one word per row, in row order), so results do not depend on how rows are split over
    /// threads. When recording (`createGraph: true`) the backward is built from differentiable ops on the
    /// draws, regenerated from the same seeds, so it can be differentiated again.
    public func conditionalGumbelMixture(noiseLogits theta: Tensor<S>, code: Tensor<S>, weights: [S], temperature: S,
                                         rng: inout RandomStream) -> Variable {
        let shape = self.shape
        precondition(!shape.isEmpty && theta.shape == shape && code.shape == shape && !weights.isEmpty && temperature > 0,
                     "conditionalGumbelMixture: x \(shape), noise logits \(theta.shape), code \(code.shape), " +
                     "\(weights.count) weights, temperature \(temperature)")
        let draws = ConditionalGumbelDraws(theta: theta, code: code, weights: weights, temperature: temperature, rng: &rng)
        let (y, value, _) = Profile.measure(.elementwise) { draws.run(keepingDraws: false) }
        return Variable.record(value, [self]) { g, node, _ in
            guard GradientTape.isRecording else {
                return [Variable(Profile.measure(.elementwise) { draws.backward(y: y, g: g.value) })]
            }
            let z = draws.run(keepingDraws: true).z!
            return [Variable.softmaxMixtureGradientGraph(x: node.inputs[0], g: g, shifted: z, weights: weights,
                                                         temperature: temperature)]
        }
    }

    /// The K conditional draws behind `conditionalGumbelMixture`, stacked sample-major as [K·B, ..., C]
    /// (draw k of row b at k·B + b): what the same call with the same `rng` state mixes.
    public static func conditionalGumbelDraws(noiseLogits theta: Tensor<S>, code: Tensor<S>, samples: Int,
                                              rng: inout RandomStream) -> Tensor<S> {
        precondition(!theta.shape.isEmpty && code.shape == theta.shape && samples >= 1,
                     "conditionalGumbelDraws: logits \(theta.shape), code \(code.shape), \(samples) samples")
        let draws = ConditionalGumbelDraws(theta: theta, code: code, weights: [S](repeating: 1, count: samples),
                                           temperature: 1, rng: &rng)
        return draws.run(keepingDraws: true).z!
    }
}

/// One call's inputs: the noise logits, the sample, a seed per row and the weights padded to `stride`.
private struct ConditionalGumbelDraws<S: TensorScalar> {
    let theta: Tensor<S>, code: Tensor<S>, seeds: [UInt64], weights: [S], temperature: S
    let rows: Int, classes: Int, samples: Int, stride: Int

    init(theta: Tensor<S>, code: Tensor<S>, weights: [S], temperature: S, rng: inout RandomStream) {
        classes = theta.shape.last!
        rows = theta.count / Swift.max(classes, 1)
        samples = weights.count
        stride = (samples + 15) / 16 * 16
        var seeds = [UInt64]()
        seeds.reserveCapacity(rows)
        for _ in 0..<rows { seeds.append(rng.next()) }
        (self.theta, self.code, self.seeds, self.temperature) = (theta, code, seeds, temperature)
        self.weights = weights + [S](repeating: 0, count: stride - samples)
    }

    /// The K softmaxes y ([rows, C, stride], class-major per row), the mixture value and, if asked, the draws.
    func run(keepingDraws: Bool) -> (y: Tensor<S>, value: Tensor<S>, z: Tensor<S>?) {
        var y = Tensor<S>(uninitializedShape: [rows * classes * stride])
        var value = Tensor<S>(uninitializedShape: theta.shape)
        var z: Tensor<S>? = keepingDraws ? Tensor<S>(uninitializedShape: [samples * theta.shape[0]] + theta.shape.dropFirst()) : nil
        if rows == 0 || classes == 0 { return (y, value, z) }
        theta.withUnsafeBufferPointer { tb in code.withUnsafeBufferPointer { cb in
            seeds.withUnsafeBufferPointer { sb in weights.withUnsafeBufferPointer { wb in
                y.withUnsafeMutablePointer { yp in value.withUnsafeMutablePointer { vp in
                    func call(_ zp: UnsafeMutablePointer<S>?) {
                        let p = ConditionalGumbelMixtureArguments(
                            theta: tb.baseAddress!, code: cb.baseAddress!, seeds: sb.baseAddress!, rowCount: rows,
                            classes: classes, samples: samples, stride: stride, weights: wb.baseAddress!,
                            temperature: temperature, y: yp, value: vp, z: zp)
                        Parallel.forEachRowChunk(rows: rows, width: classes * stride) { S._conditionalGumbelMixtureKernel(p, rows: $0) }
                    }
                    if z == nil { call(nil) } else { z!.withUnsafeMutablePointer { call($0) } }
                } }
            } }
        } }
        return (y, value, z)
    }

    /// Σ_k w_k J(y_k)·g/τ per row.
    func backward(y: Tensor<S>, g: Tensor<S>) -> Tensor<S> {
        var out = Tensor<S>(uninitializedShape: theta.shape)
        if rows == 0 || classes == 0 { return out }
        y.withUnsafeBufferPointer { yb in g.withUnsafeBufferPointer { gb in weights.withUnsafeBufferPointer { wb in
            out.withUnsafeMutablePointer { o in
                Parallel.forEachRowChunk(rows: rows, width: classes * stride) {
                    S._conditionalGumbelMixtureBackwardKernel(y: yb.baseAddress!, g: gb.baseAddress!, classes: classes, stride: stride,
                                                              weights: wb.baseAddress!, temperature: temperature, out: o, rows: $0)
                }
            }
        } } }
        return out
    }
}
