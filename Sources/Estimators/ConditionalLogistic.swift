// The Bernoulli counterpart of ConditionalGumbel: a logistic-perturbed logit z̃ drawn from p(z | H(z) = b),
// written as a differentiable function of the logit (REBAR/RELAX need dz̃/da; duvenaud/relax#6 was the
// bug of dropping this path).
import Autodiff

public enum ConditionalLogistic {
    /// z̃ = a + logit(v') with v' = v(1−θ) for b = 0 and v' = vθ + (1−θ) for b = 1, θ = σ(a), v ~ U(0,1).
    /// In a stable closed form (w = 1 − v for b = 1, both uniform):
    ///   b = 1:  z̃ =  softplus(a)  − log w + log1p(−σ(a)·w)   (> 0)
    ///   b = 0:  z̃ = −softplus(−a) + log v − log1p(−σ(−a)·v)   (< 0)
    /// Both are the same expression with a ↦ −a and z̃ ↦ −z̃, so it is evaluated once on s·a with
    /// s = 2b − 1 and multiplied by s.
    public static func sample<S>(logits: Variable<S>, code: Tensor<S>, rng: inout RandomStream) -> Variable<S> {
        sample(logits: logits, code: code, uniforms: Tensor<S>.uniform(code.shape, using: &rng))
    }

    public static func sample<S>(logits: Variable<S>, code: Tensor<S>, uniforms w: Tensor<S>) -> Variable<S> {
        logits.conditionalLogistic(code: code, uniforms: w)  // one fused op (Autodiff); it checks the shapes
    }
}
