import Autodiff
import Foundation
import VAE

/// VIMCO: the M-sample importance-weighted bound with leave-one-out local learning signals
/// (Mnih & Rezende 2016, arXiv 1602.06725).
///
/// Estimates the gradient of a DIFFERENT objective from the other estimators: the M-sample bound
///   L_M = E[L̂],  L̂ = log (1/M) Σ_m w_m,  log w_m = −f(z_m) + log p(z_m) − log q(z_m),
/// which includes the prior (so `includesKL` is true and the trainer adds no KL). UNBIASED for ∇L_M:
///   encoder: Σ_m (L̂ − L̂_{−m})·∇log q(z_m) + Σ_m w̃_m ∇log w_m,
///   decoder: the ordinary gradient of L̂ (= Σ_m w̃_m ∇(−f_m)),
/// where L̂_{−m} replaces log w_m by the mean of the other log w_j (the geometric-mean swap-out,
/// TFP's `log_soomean_exp`) and so does not depend on z_m. The surrogate (minimised) is
///   −Σ_b [L̂_b + Σ_m sg(L̂_b − L̂_{b,−m})·log q(z_{b,m})],
/// and `objectiveValue` is −L̂ per example, so the trainer's reported loss is the M-sample bound.
/// Requirements: M ≥ 2; the prior is the fixed one (uniform / Bernoulli(½)): a learned Bernoulli prior
/// is not visible to estimators and would not be trained by this surrogate.
///
/// Options: `samples` M ≥ 2 (default 5).
public final class VIMCO<S: TensorScalar>: GradientEstimator {
    public static var name: String { "vimco" }
    public static var summary: String { "multi-sample bound with leave-one-out local learning signals (unbiased for the M-sample bound)" }
    public static var families: Set<LatentFamily> { [.categorical, .bernoulli] }
    public static func make(_ options: EstimatorOptions, sizes: ModelSizes) throws -> VIMCO {
        VIMCO(samples: try options.integer("samples", default: 5, minimum: 2))
    }

    public let samples: Int

    public init(samples: Int = 5) {
        precondition(samples >= 2, "vimco needs samples >= 2")
        self.samples = samples
    }

    public func estimate(_ context: EstimatorContext<S>, rng: inout RandomStream) -> Estimate<S> {
        let m = samples, batch = context.batchSize
        let logits = ScoreFunction.repeated(context.logits, m)
        let codes = context.latent.sample(logits: logits.value, rng: &rng)
        let f = context.objective(Variable(codes))                                         // [M·B]
        let logQ = context.latent.logProbability(of: codes, logits: logits)                 // [M·B]
        let logPrior = context.latent.logPrior(of: codes, priorLogits: nil as Variable<S>?) // [M·B]
        let logW = (logPrior - f - logQ).reshaped([m, batch])                               // [M, B]
        // L̂ = logsumexp_m log w − log M, in the graph (over axis 0 via a transpose to the last axis).
        let bound = logW.transposed().logSumExp() - S(Foundation.log(Double(m)))           // [B]
        let signals = localSignals(logW.value, copies: m, batch: batch)                    // [M·B]
        let surrogate = -(bound.sum() + (Variable(signals) * logQ).sum())
        return Estimate(surrogate: surrogate, objectiveValue: bound.value.neg(), includesKL: true)
    }

    /// L̂_b − L̂_{b,−m} for every sample, with log w_m swapped for the mean of the others.
    func localSignals(_ logW: Tensor<S>, copies m: Int, batch: Int) -> Tensor<S> {
        let w = logW.scalars.map { Double($0) }
        var out = [S](repeating: 0, count: m * batch)
        func logMeanExp(_ xs: [Double]) -> Double {
            let top = xs.max()!
            return top + Foundation.log(xs.reduce(0) { $0 + Foundation.exp($1 - top) } / Double(xs.count))
        }
        for b in 0..<batch {
            let column = (0..<m).map { w[$0 * batch + b] }
            let full = logMeanExp(column), total = column.reduce(0, +)
            for j in 0..<m {
                var swapped = column
                swapped[j] = (total - column[j]) / Double(m - 1)
                out[j * batch + b] = S(full - logMeanExp(swapped))
            }
        }
        return Tensor(shape: [m * batch], scalars: out)
    }
}
