// A discrete-latent toy that is not a VAE: choose one of C symbols for each of L slots so that a
// fixed linear read-out of the one-hot code, z·W, lands on a target y. The choices are a factorised
// categorical q(z) = Π_l Cat(softmax θ_l) with learnable logits θ [1, L, C]; the loss is
// E_q[‖z·W − y‖²], minimised with gradient estimates from the registry. Every piece a user supplies is
// here: the objective f(z) as a differentiable function of the code, the EstimatorContext, the
// surrogate's gradient, and an optimizer for the estimator's own parameters when it has some.
//
// Usage: discrete-toy [steps]   (exits 1 if an estimator fails to cut the uniform start's E[f] by a quarter)
import DiscreteGrad
import Foundation

let latent = LatentSpec.categorical(6, 5)           // L = 6 slots, C = 5 symbols: 15,625 codes
let (slots, symbols, outputs) = (latent.variables, latent.classes, 3)
let steps = CommandLine.arguments.dropFirst().first.flatMap { Int($0) } ?? 1500

var problemStream = RandomStream(seed: 7)
let readOut = Tensor<Float>.uniform([slots * symbols, outputs], using: &problemStream) * 2 - 1   // W
let target = Tensor<Float>.uniform([outputs], using: &problemStream) * 2 - 1                    // y

/// f(z) = ‖z·W − y‖² per row, for codes z [R, L, C] (one-hot, relaxed, or R stacked batches for
/// multi-sample estimators). Differentiable in z: the estimators differentiate through it.
func objective(_ z: Variable<Float>) -> Variable<Float> {
    let flat = z.reshaped([z.shape[0], slots * symbols])
    return (matmul(flat, Variable(readOut)) - Variable(target)).square().sum(alongAxis: -1)
}

/// The exact expectation E_q[f] by enumerating all C^L codes (cheap here; it is the yardstick).
func exactLoss(_ logits: Tensor<Float>) -> Double {
    let p = logits.reshaped([slots, symbols]).softmax().scalars.map(Double.init)
    var total = 0.0, index = [Int](repeating: 0, count: slots)
    let w = readOut.scalars.map(Double.init), y = target.scalars.map(Double.init)
    for _ in 0..<latent.codeCount! {
        var probability = 1.0, out = y.map { -$0 }
        for l in 0..<slots {
            probability *= p[l * symbols + index[l]]
            for o in 0..<outputs { out[o] += w[(l * symbols + index[l]) * outputs + o] }
        }
        total += probability * out.reduce(0) { $0 + $1 * $1 }
        for l in 0..<slots { index[l] += 1; if index[l] < symbols { break }; index[l] = 0 }
    }
    return total
}

let start = exactLoss(Tensor(zeros: [1, slots, symbols]))
print(String(format: "uniform q: E[f] = %.4f; %d steps of Adam (lr 0.05) per estimator", start, steps))
var failures: [String] = []
for (name, options) in [("st", [:]), ("reinmax", [:]), ("gr-mc", ["samples": OptionValue.number(16)]),
                        ("rloo", ["samples": .number(4)]), ("reinforce", [:])] as [(String, [String: OptionValue])] {
    let estimator = try EstimatorRegistry.make(EstimatorOptions(estimator: name, values: options),
                                               family: latent.family, scalar: Float.self)
    let logits = Variable(Tensor<Float>(zeros: [1, slots, symbols]), requiresGradient: true)
    let optimizer = Optimizer(kind: .adam, parameters: [logits], learningRate: 0.05)
    // Estimators with parameters of their own (baselines, control variates) train them on `auxiliaryLoss`.
    let auxiliaryOptimizer = estimator.parameters.isEmpty ? nil
        : Optimizer(kind: .adam, parameters: estimator.parameters, learningRate: 0.05 * estimator.parameterLearningRateScale)
    var noise = RandomStream(seed: 1)
    for _ in 0..<steps {
        let estimate = estimator.estimate(EstimatorContext(logits: logits, latent: latent, objective: objective), rng: &noise)
        // The surrogate's gradient w.r.t. the logits is the estimate of ∇θ E_q[f].
        optimizer.step([logits], gradients: [gradients(of: estimate.surrogate, wrt: [logits])[0].value])
        if let auxiliary = estimate.auxiliaryLoss, let auxiliaryOptimizer {
            auxiliaryOptimizer.step(estimator.parameters, gradients: gradients(of: auxiliary, wrt: estimator.parameters).map { $0.value })
        }
    }
    let final = exactLoss(logits.value)
    print(name.padding(toLength: 10, withPad: " ", startingAt: 0) + String(format: " E[f] = %.4f", final))
    if !(final < 0.75 * start) { failures.append(name) }
}
if !failures.isEmpty {
    print("did not cut the uniform start's E[f] by a quarter: \(failures.joined(separator: ", "))")
    exit(1)
}
