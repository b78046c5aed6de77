// REBAR's and RELAX's conditional draw for Bernoulli units as one op: z̃ ~ p(z | H(z) = b) for
// z = l + logistic noise, a differentiable function of the logit l (the sampler itself, with its
// derivation, is Estimators' ConditionalLogistic). Fused in CKernels (dg_conditional_logistic_*):
// the value with the same operations as the composition of single ops, so the same bits, and its
// derivative in the same pass, so the backward is one product instead of a dozen ops.

extension Tensor {
    /// z̃ = s·[(softplus(a) − log w) + log1p(−σ(a)·w)] with s = 2b − 1 and a = s·l, and dz̃/dl beside it.
    public func conditionalLogistic(code: Tensor, uniforms w: Tensor) -> (value: Tensor, derivative: Tensor) {
        precondition(shape == code.shape && shape == w.shape,
                     "conditionalLogistic: logits \(shape), code \(code.shape), uniforms \(w.shape)")
        var value = Tensor(uninitializedShape: shape), derivative = Tensor(uninitializedShape: shape)
        let n = count
        withUnsafePointer { l in
            code.withUnsafePointer { b in
                w.withUnsafePointer { u in
                    value.withUnsafeMutablePointer { z in
                        derivative.withUnsafeMutablePointer { j in
                            Profile.measure(.elementwise) { S._conditionalLogisticKernel(l, b, u, z, j, count: n) }
                        }
                    }
                }
            }
        }
        return (value, derivative)
    }
}

extension Variable {
    /// z̃ = s·[softplus(a) − log w + log1p(−σ(a)·w)], s = 2b − 1, a = s·l (self = l), for codes b (0/1) and
    /// uniforms w in (0, 1): the logistic-perturbed logit conditioned on its sign. Backward: g·dz̃/dl with
    /// dz̃/dl = σ(a) − w·σ(a)(1 − σ(a))/(1 − σ(a)·w) from the forward pass, as an op of its own whose
    /// backward is written in primitives: d²z̃/dl² = s·u·[1 − w(1 − 2σ + wσ²)/(1 − σw)²], u = σ(1 − σ).
    public func conditionalLogistic(code: Tensor<S>, uniforms w: Tensor<S>) -> Variable {
        let (value, derivative) = self.value.conditionalLogistic(code: code, uniforms: w)
        let slope = Variable.record(derivative, [self]) { g, node, _ in
            let sign = Variable(code * 2 - 1), weights = Variable(w)
            let s = (sign * node.inputs[0]).sigmoid()
            let u = s * (1 - s), t = 1 - s * weights
            return [g * sign * (u - weights * u * (1 - 2 * s + weights * s * s) / (t * t))]
        }
        return Variable.record(value, [self]) { g, _, _ in [g * slope] }
    }
}
