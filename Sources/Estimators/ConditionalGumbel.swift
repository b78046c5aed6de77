// The conditional Gumbel sampler: perturbed logits z = θ + G drawn from p(z | argmax z = D). Gumbel-Rao,
// ReinMax-Rao/CV (with θ detached) and REBAR/RELAX (differentiable in θ) are all built on it.
import Autodiff

public enum ConditionalGumbel {
    /// Draws z with argmax_k z_k equal to the class of the one-hot `code` ([..., K]), exactly from the
    /// conditional distribution, in log space (Maddison et al. 2014; the RELAX appendix):
    /// with E ~ Exp(1) and log Z = logsumexp θ,
    ///   winner i:  z_i = log Z − log E_i            (the max of Gumbels is Gumbel(log Z))
    ///   others j:  z_j = −log(E_j·e^{−θ_j} + E_i/Z) = −logaddexp(log E_j − θ_j, log E_i − log Z)
    /// The result is differentiable in `logits` (REBAR/RELAX need dz̃/dθ); pass `logits.detached()`
    /// for the Gumbel-Rao family, whose noise must not carry gradient.
    public static func sample<S>(logits: Variable<S>, code: Tensor<S>, rng: inout RandomStream) -> Variable<S> {
        precondition(logits.shape == code.shape, "conditional Gumbel: logits \(logits.shape) vs code \(code.shape)")
        let logE = Tensor<S>.exponential(code.shape, using: &rng).log()
        let logZ = logits.logSumExp(keepingDimensions: true)
        let logEWinner = Variable((logE * code).sum(alongAxis: -1, keepingDimensions: true))
        let winner = logZ - logEWinner
        let a = Variable(logE) - logits
        let b = logEWinner - logZ
        let others = -logAddExp(a, b)
        let mask = Variable(code)
        return mask * winner + (1 - mask) * others
    }

    /// The values of `samples` conditional draws per row without a graph, stacked sample-major as
    /// [K·B, ..., C] (draw k of row b at k·B + b): what the Gumbel-Rao family needs, whose noise carries no
    /// gradient. The same draws as `sample` on the K-times stacked logits (same random numbers, same
    /// order), in a form with two logarithms per element instead of four: with m the row maximum,
    /// c_j = e^{m − θ_j}, Z' = Σ_j e^{θ_j − m} and E = −log U,
    ///   w_i = E_i/Z',  w_j = E_j·c_j + E_i/Z' (j ≠ i),  z = m − log w,
    /// which is `sample`'s z_i = log Z − log E_i and z_j = −log(E_j e^{−θ_j} + E_i/Z) multiplied through by
    /// e^m. A class whose c_j overflows (a logit more than ~88 below its row's maximum in Float) gets
    /// z_j = −∞, the limit of the exact value.
    @_specialize(where S == Float)
    @_specialize(where S == Double)
    public static func sampleValues<S>(logits x: Tensor<S>, code: Tensor<S>, samples: Int, rng: inout RandomStream) -> Tensor<S> {
        precondition(x.shape == code.shape && x.rank >= 1, "conditional Gumbel: logits \(x.shape) vs code \(code.shape)")
        let classes = x.shape[x.rank - 1], rows = x.count / max(classes, 1), n = x.count
        let outShape = [samples * x.shape[0]] + Array(x.shape.dropFirst())
        // Per row (shared by the K draws): the winning class, the maximum, c_j = e^{m − θ_j} and 1/Z'.
        var winner = [Int](repeating: 0, count: rows), maximum = [S](repeating: 0, count: rows)
        var shifted = Tensor<S>(zeros: x.shape)
        x.withUnsafeBufferPointer { xb in
            code.withUnsafeBufferPointer { cb in
                shifted.withUnsafeMutableBufferPointer { sb in
                    for r in 0..<rows {
                        var m = xb[r * classes]
                        for j in 0..<classes {
                            m = Swift.max(m, xb[r * classes + j])
                            if cb[r * classes + j] != 0 { winner[r] = j }
                        }
                        maximum[r] = m
                        for j in 0..<classes { sb[r * classes + j] = m - xb[r * classes + j] }
                    }
                }
            }
        }
        let c = shifted.exp()
        let inverseZ: [S] = c.withUnsafeBufferPointer { cb in
            (0..<rows).map { r in
                var total: S = 0
                for j in 0..<classes { total += 1 / cb[r * classes + j] }
                return 1 / total
            }
        }
        // log U = −E (the same numbers as `exponential`, whose negation is folded into w's formula).
        let logU = Tensor<S>.uniform(outShape, using: &rng).log()
        var w = Tensor<S>(shape: outShape) { w in
            logU.withUnsafeBufferPointer { eb in
                c.withUnsafeBufferPointer { cb in
                    Parallel.forEachRowChunk(rows: samples, width: n) { chunk in for k in chunk {
                        for r in 0..<rows {
                            let base = k * n + r * classes
                            let floor = -eb[base + winner[r]] * inverseZ[r]
                            for j in 0..<classes { w[base + j] = -eb[base + j] * cb[r * classes + j] + floor }
                            w[base + winner[r]] = floor
                        }
                    } }
                }
            }
        }
        w = w.log()
        w.withUnsafeMutableBufferPointer { z in
            Parallel.forEachRowChunk(rows: samples, width: n) { chunk in
                for k in chunk {
                    for r in 0..<rows {
                        let base = k * n + r * classes, m = maximum[r]
                        for j in 0..<classes { z[base + j] = m - z[base + j] }
                    }
                }
            }
        }
        return w
    }

    /// log(e^a + e^b), shifted by the (detached) elementwise max so it never overflows.
    static func logAddExp<S>(_ a: Variable<S>, _ b: Variable<S>) -> Variable<S> {
        let shape = broadcastShape(a.shape, b.shape)
        let m = Variable(a.value.maximum(b.value).expanded(to: shape))
        return m + ((a - m).exp() + (b - m).exp()).log()
    }
}
