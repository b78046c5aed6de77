// The conditional Gumbel sampler: perturbed logits z = θ + G drawn from p(z | argmax z = D), differentiable
// in θ, as REBAR/RELAX need. Gumbel-Rao and ReinMax-Rao/CV, whose noise carries no gradient, draw the same
// distribution inside the fused `Variable.conditionalGumbelMixture` (Autodiff, CKernels).
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

    /// log(e^a + e^b), shifted by the (detached) elementwise max so it never overflows.
    static func logAddExp<S>(_ a: Variable<S>, _ b: Variable<S>) -> Variable<S> {
        let shape = broadcastShape(a.shape, b.shape)
        let m = Variable(a.value.maximum(b.value).expanded(to: shape))
        return m + ((a - m).exp() + (b - m).exp()).log()
    }
}
