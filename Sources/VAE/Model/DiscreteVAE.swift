// The discrete-latent VAE: encoder MLP to latent logits, decoder MLP from a code to Bernoulli pixel
// logits. It knows nothing about gradient estimators: it exposes the pieces (logits, the per-example
// reconstruction term as a function of the code, the analytic KL) that an estimator combines.
import Autodiff
import Foundation

public struct ModelShape: Codable, Sendable, Equatable {
    public var inputSize: Int
    public var encoderHidden: [Int]
    public var decoderHidden: [Int]
    public var activation: Activation
    public var latent: LatentSpec
    /// Learn the Bernoulli prior's logits (ignored for categorical latents, whose prior is uniform).
    public var learnedPrior: Bool

    public init(inputSize: Int = 784, encoderHidden: [Int] = [512, 256], decoderHidden: [Int] = [256, 512],
                activation: Activation = .relu, latent: LatentSpec, learnedPrior: Bool = false) {
        self.inputSize = inputSize
        self.encoderHidden = encoderHidden
        self.decoderHidden = decoderHidden
        self.activation = activation
        self.latent = latent
        self.learnedPrior = learnedPrior
    }
}

public final class DiscreteVAE<S: TensorScalar> {
    public let shape: ModelShape
    public let encoder: MLP<S>
    public let decoder: MLP<S>
    public let priorLogits: Variable<S>?

    public var latent: LatentSpec { shape.latent }

    public init(shape: ModelShape, rng: inout RandomStream) {
        self.shape = shape
        let latent = shape.latent
        let logitWidth = latent.family == .categorical ? latent.variables * latent.classes : latent.variables
        encoder = MLP(inputs: shape.inputSize, hidden: shape.encoderHidden, outputs: logitWidth,
                      activation: shape.activation, rng: &rng, name: "encoder")
        decoder = MLP(inputs: latent.codeWidth, hidden: shape.decoderHidden, outputs: shape.inputSize,
                      activation: shape.activation, rng: &rng, name: "decoder")
        priorLogits = shape.learnedPrior && latent.family == .bernoulli
            ? Variable(Tensor(zeros: [latent.variables]), requiresGradient: true, name: "prior.logits") : nil
    }

    /// All trainable parameters in a fixed order (the checkpoint and optimizer state follow it).
    public var parameters: [Variable<S>] { encoder.parameters + decoder.parameters + (priorLogits.map { [$0] } ?? []) }

    /// Encoder logits: [B, L, C] or [B, N].
    public func encode(_ x: Variable<S>) -> Variable<S> {
        encoder(x).reshaped(latent.logitShape(batch: x.shape[0]))
    }

    /// Decoder pixel logits [B, D] for codes [B, L, C] / [B, N] (hard, relaxed or any point in between).
    public func decode(_ code: Variable<S>) -> Variable<S> {
        decoder(latent.flatten(code))
    }

    /// −log p(x | z) per example, for codes whose batch is `repeats` stacked copies of x's batch
    /// (multi-sample estimators evaluate several codes per input).
    public func reconstructionNLL(code: Variable<S>, x: Tensor<S>) -> Variable<S> {
        let logits = decode(code)
        let repeats = logits.shape[0] / x.shape[0]
        let target = repeats == 1 ? x : Tensor.stacked(x, repeats: repeats)
        return bernoulliNLL(logits: logits, targets: target)
    }

    public func kl(logits: Variable<S>) -> Variable<S> { latent.kl(logits: logits, priorLogits: priorLogits) }

    /// The objective an estimator differentiates for the batch `x`: f(z) = −log p(x | z) per row, for codes
    /// that stack the batch R ≥ 1 times (the trainer's objective; `analyze` measures the same). Its time is
    /// the model's, taken out of the estimator's share in profiles.
    public func reconstructionObjective(x: Tensor<S>) -> (Variable<S>) -> Variable<S> {
        { [self] z in Profile.measure(nil) { reconstructionNLL(code: z, x: x) } }
    }

    /// The one-sample KL estimate k = log q(z|x) − log p(z) per example, at a code drawn from `logits`, and a
    /// surrogate whose gradient is unbiased for ∇E_q[k] = E[k·∇log q + ∇k]: Σ_b k_b + sg(k_b)·log q_b.
    /// (`latent.kl = "sample"`; the analytic KL is `kl(logits:)`.)
    public func sampleKL(logits: Variable<S>, rng: inout RandomStream) -> (surrogate: Variable<S>, value: Tensor<S>) {
        let code = latent.sample(logits: logits.value, rng: &rng)
        let logQ = latent.logProbability(of: code, logits: logits)
        let k = logQ - latent.logPrior(of: code, priorLogits: priorLogits)
        return (k.sum() + (Variable(k.value) * logQ).sum(), k.value)
    }

    /// Σ_b −log (1/K) Σ_k p(x_b, z_k)/q(z_k | x_b) with z_k ~ q(·| x_b): the importance-weighted (IWAE) bound on
    /// the batch's negative log-likelihood, in nats, summed over the batch (Burda et al. 2016). Log-sum-exp in Double.
    public func iwaeNLL(x: Tensor<S>, logits: Variable<S>, samples K: Int, rng: inout RandomStream) -> Double {
        let b = x.shape[0]
        var logWeights = [Double](repeating: 0, count: b * K)
        for k in 0..<K {
            let code = latent.sample(logits: logits.value, rng: &rng)
            let logLikelihood = -reconstructionNLL(code: Variable(code), x: x).value
            let logQ = latent.logProbability(of: code, logits: logits).value
            let logP = latent.logPrior(of: code, priorLogits: priorLogits).value
            let w = logLikelihood + logP - logQ
            for i in 0..<b { logWeights[i * K + k] = Double(w[flat: i]) }
        }
        var total = 0.0
        for i in 0..<b {
            let row = logWeights[(i * K)..<((i + 1) * K)]
            let m = row.max()!
            total -= m + Foundation.log(row.reduce(0) { $0 + Foundation.exp($1 - m) } / Double(K))
        }
        return total
    }
}

/// −Σ_d log Bernoulli(x_d | σ(l_d)) = Σ_d softplus(l_d) − x_d·l_d per row: stable for any logit and
/// valid for grey-level targets in [0,1] (the ReinMax protocol trains on non-binarised MNIST). One fused
/// pass forward and one backward (`sigmoidCrossEntropy`).
public func bernoulliNLL<S>(logits: Variable<S>, targets: Tensor<S>) -> Variable<S> {
    logits.sigmoidCrossEntropy(targets: targets)
}

extension Tensor {
    /// `repeats` copies of a [B, ...] tensor stacked along the batch axis: [repeats·B, ...].
    public static func stacked(_ x: Tensor, repeats: Int) -> Tensor {
        Tensor(shape: [repeats * x.shape[0]] + Array(x.shape.dropFirst())) { out in
            x.withUnsafeBufferPointer { src in
                for r in 0..<repeats {
                    UnsafeMutableBufferPointer(rebasing: out[(r * src.count)..<((r + 1) * src.count)])
                        .baseAddress!.initialize(from: src.baseAddress!, count: src.count)
                }
            }
        }
    }
}
