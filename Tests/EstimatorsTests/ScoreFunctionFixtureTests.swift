// Shared fixtures for the score-function / learned-control-variate tests (ScoreFunctionTests,
// REBARTests, RELAXTests): small latent spaces with a fixed nonlinear decoder, and the unbiasedness
// check against the exact gradient from enumeration.
import Autodiff
import Estimators
import Foundation
import TestSupport
import VAE
import XCTest

/// A batch of 2 examples, a fixed tanh MLP decoder and f = Bernoulli NLL of fixed binary targets.
struct SFProblem {
    let latent: LatentSpec
    let logits: Tensor<Double>
    let decoder: MLP<Double>
    let targets: Tensor<Double>
    let inputs: Tensor<Double>

    var batch: Int { logits.shape[0] }

    /// 3 categorical variables × 3 classes.
    static var categorical: SFProblem { make(.categorical(3, 3), seed: 11) }
    /// 4 Bernoulli units.
    static var bernoulli: SFProblem { make(.bernoulli(4), seed: 12) }

    static func make(_ latent: LatentSpec, seed: UInt64, batch: Int = 2) -> SFProblem {
        var rng = RandomStream(seed: seed)
        let logits = Tensor<Double>.uniform(latent.logitShape(batch: batch), using: &rng) * 3 - 1.5
        let decoder = MLP<Double>(inputs: latent.codeWidth, hidden: [16], outputs: 6, activation: .tanh, rng: &rng, name: "dec")
        // Larger weights make f clearly nonlinear in the code (so ST's first-order bias is visible).
        for layer in decoder.layers { layer.weight.value = layer.weight.value * 3 }
        let targets = Tensor<Double>.uniform([batch, 6], using: &rng).greater(Tensor(0.5))
        let inputs = Tensor<Double>.uniform([batch, 5], using: &rng)
        return SFProblem(latent: latent, logits: logits, decoder: decoder, targets: targets, inputs: inputs)
    }

    /// f per row, rows being R stacked copies of the batch.
    func objective(_ z: Variable<Double>) -> Variable<Double> {
        let copies = z.shape[0] / batch
        return bernoulliNLL(logits: decoder(latent.flatten(z)), targets: Tensor.stacked(targets, repeats: copies))
    }

    func context(_ logits: Variable<Double>) -> EstimatorContext<Double> {
        EstimatorContext(logits: logits, latent: latent, inputs: inputs) { [self] z in objective(z) }
    }

    var exactGradient: Tensor<Double> { ExactExpectation.logitGradient(context(Variable(logits))) }

    /// One draw of an estimator's logit gradient (the gradient of its surrogate w.r.t. the logits).
    func draw(_ estimator: any GradientEstimator<Double>, rng: inout RandomStream) -> (gradient: Tensor<Double>, estimate: Estimate<Double>, leaf: Variable<Double>) {
        let leaf = Variable(logits, requiresGradient: true)
        let estimate = estimator.estimate(context(leaf), rng: &rng)
        return (gradients(of: estimate.surrogate, wrt: [leaf])[0].value, estimate, leaf)
    }

    /// −∇ of the exact 2-sample bound E[log ½(w₁ + w₂)], log w = −f + log p − log q, by enumerating
    /// all pairs of codes: what VIMCO with M = 2 estimates.
    var exactTwoSampleBoundGradient: Tensor<Double> {
        let leaf = Variable(logits, requiresGradient: true)
        let codes: Tensor<Double> = ExactExpectation.allCodes(latent)
        let n = codes.shape[0], b = batch
        let rowShape = Array(codes.shape.dropFirst())
        let repeated = codes.reshaped([n, 1] + rowShape).expanded(to: [n, b] + rowShape).reshaped([n * b] + rowShape)
        let f = objective(Variable(repeated)).detached().reshaped([n, b])
        let logQ = ExactExpectation.logProbabilities(codes: codes, logits: leaf, latent: latent)   // [N, B]
        let logP = latent.logPrior(of: codes, priorLogits: nil as Variable<Double>?).reshaped([n, 1])
        let logW = logP - f - logQ                                                                  // [N, B]
        let first = logW.reshaped([n, 1, b]).expanded(to: [n, n, b])
        let second = logW.reshaped([1, n, b]).expanded(to: [n, n, b])
        let top = Variable(first.value.maximum(second.value))
        let bound = top + ((first - top).exp() + (second - top).exp()).log() - Foundation.log(2.0)
        let weight = (logQ.reshaped([n, 1, b]).expanded(to: [n, n, b]) + logQ.reshaped([1, n, b]).expanded(to: [n, n, b])).exp()
        return gradients(of: -(weight * bound).sum(), wrt: [leaf])[0].value
    }
}

/// Mean of N draws against the exact gradient, coordinate by coordinate, in standard errors
/// computed from the draws themselves.
struct SFUnbiasedness: CustomStringConvertible {
    let draws: Int
    let mean: [Double]
    let exact: [Double]
    let standardError: [Double]
    /// |mean − exact| / SE per coordinate (coordinates with SE ≈ 0 must match to 1e-9).
    var zScores: [Double] {
        zip(zip(mean, exact), standardError).map { pair, se in
            let gap = Swift.abs(pair.0 - pair.1)
            return se > 1e-12 ? gap / se : (gap < 1e-9 ? 0 : .infinity)
        }
    }
    var worstZ: Double { zScores.max() ?? 0 }
    /// Passes when every coordinate is within 5 SE.
    var passed: Bool { worstZ < 5 }
    var description: String {
        String(format: "worst |mean − exact|/SE = %.2f over %d coordinates, %d draws", worstZ, mean.count, draws)
    }

    static func check(_ estimator: any GradientEstimator<Double>, on problem: SFProblem, draws: Int, seed: UInt64,
                      exact: Tensor<Double>? = nil) -> SFUnbiasedness {
        var rng = RandomStream(seed: seed)
        let reference = (exact ?? problem.exactGradient).scalars
        var sum = [Double](repeating: 0, count: reference.count), sumSquares = sum
        for _ in 0..<draws {
            let g = problem.draw(estimator, rng: &rng).gradient.scalars
            for i in g.indices {
                sum[i] += g[i]
                sumSquares[i] += g[i] * g[i]
            }
        }
        let n = Double(draws)
        let mean = sum.map { $0 / n }
        let se = zip(sum, sumSquares).map { s, q in (Swift.max(q - s * s / n, 0) / (n - 1) / n).squareRoot() }
        return SFUnbiasedness(draws: draws, mean: mean, exact: reference, standardError: se)
    }
}

/// Mean over logit coordinates of the per-coordinate variance of ĝ over `draws` draws with a fixed
/// noise seed (common random numbers, so before/after comparisons see the same noise).
func sfGradientVariance(_ estimator: any GradientEstimator<Double>, on problem: SFProblem, draws: Int, seed: UInt64) -> Double {
    var rng = RandomStream(seed: seed)
    var sum: [Double] = [], sumSquares: [Double] = []
    for _ in 0..<draws {
        let g = problem.draw(estimator, rng: &rng).gradient.scalars
        if sum.isEmpty { sum = Array(repeating: 0, count: g.count); sumSquares = sum }
        for i in g.indices {
            sum[i] += g[i]
            sumSquares[i] += g[i] * g[i]
        }
    }
    let n = Double(draws)
    return zip(sum, sumSquares).map { s, q in (q - s * s / n) / (n - 1) }.reduce(0, +) / Double(sum.count)
}

/// Runs `steps` Adam steps of an estimator's auxiliary loss on the fixed problem, with fresh noise.
func sfTune(_ estimator: any GradientEstimator<Double>, on problem: SFProblem, steps: Int, learningRate: Double, seed: UInt64) {
    let optimizer = Optimizer<Double>(kind: .adam, parameters: estimator.parameters, learningRate: learningRate)
    var rng = RandomStream(seed: seed)
    for _ in 0..<steps {
        let estimate = problem.draw(estimator, rng: &rng).estimate
        guard let auxiliary = estimate.auxiliaryLoss else { return XCTFail("\(estimator.name) has no auxiliary loss") }
        optimizer.step(estimator.parameters, gradients: gradients(of: auxiliary, wrt: estimator.parameters).map(\.value))
    }
}

/// Central finite differences of the auxiliary loss (fixed noise seed) w.r.t. one coordinate of one
/// estimator parameter, against its double-backprop gradient. Returns (autodiff, finite difference).
func sfAuxiliaryGradientCheck(_ estimator: any GradientEstimator<Double>, parameter: Variable<Double>, index: Int,
                              on problem: SFProblem, seed: UInt64, step h: Double = 1e-5) -> (Double, Double) {
    func auxiliary() -> Variable<Double> {
        var rng = RandomStream(seed: seed)
        return problem.draw(estimator, rng: &rng).estimate.auxiliaryLoss!
    }
    let analytic = gradients(of: auxiliary(), wrt: [parameter])[0].value[flat: index]
    let original = parameter.value.scalars
    let numeric = FiniteDifference.central(step: h) { delta in
        var shifted = original
        shifted[index] += delta
        parameter.value = Tensor(shape: parameter.shape, scalars: shifted)
        defer { parameter.value = Tensor(shape: parameter.shape, scalars: original) }
        return auxiliary().value.scalar
    }
    return (analytic, numeric)
}
