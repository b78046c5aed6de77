// The exact oracle: E_q[f(z)] and its gradient by enumerating every code of a small latent space.
// Unbiased estimators are tested against it, biased ones are measured by it, and `analyze` uses it
// as the reference gradient when C^L is small enough.
import Autodiff
import VAE

public enum ExactExpectation {
    /// Every code of `latent`, row r being the base-C digits of r (variable 0 most significant):
    /// one-hot [N, L, C] for categorical, binary [N, U] for Bernoulli. N = C^L (or 2^U).
    public static func allCodes<S: TensorScalar>(_ latent: LatentSpec, scalar: S.Type = S.self) -> Tensor<S> {
        guard let count = latent.codeCount else { preconditionFailure("latent space \(latent) is too large to enumerate") }
        let (L, C) = (latent.variables, latent.classes)
        if latent.family == .bernoulli {
            return Tensor(shape: [count, L]) { out in
                for r in 0..<count { for l in 0..<L { out[r * L + l] = S((r >> (L - 1 - l)) & 1) } }
            }
        }
        return Tensor(shape: [count, L, C]) { out in
            out.initialize(repeating: 0)
            for r in 0..<count {
                var rest = r
                for l in stride(from: L - 1, through: 0, by: -1) {
                    out[(r * L + l) * C + rest % C] = 1
                    rest /= C
                }
            }
        }
    }

    /// log q_b(code_r) for every code r and example b: [N, B], differentiable in the logits.
    public static func logProbabilities<S>(codes: Tensor<S>, logits: Variable<S>, latent: LatentSpec) -> Variable<S> {
        let batch = logits.shape[0], n = codes.shape[0]
        let flatCodes = Variable(codes.reshaped([n, latent.codeWidth]))
        switch latent.family {
        case .categorical:
            let logQ = logits.logSoftmax().reshaped([batch, latent.codeWidth])
            return matmul(flatCodes, logQ, transposeB: true)
        case .bernoulli:
            return matmul(flatCodes, logits, transposeB: true) - logits.softplus().sum(alongAxis: -1)
        }
    }

    /// Σ_b E_{q_b}[f_b(z)] as a differentiable scalar (in the logits and in whatever f depends on),
    /// plus the per-example expectations [B]. `objective` follows EstimatorContext's convention:
    /// it is called once with all N codes, each stacked B times (row r·B + b is code r for example b).
    public static func expectation<S>(_ context: EstimatorContext<S>) -> (total: Variable<S>, perExample: Tensor<S>) {
        let latent = context.latent, batch = context.batchSize
        let codes: Tensor<S> = allCodes(latent)
        let n = codes.shape[0]
        // [N, ...] -> [N·B, ...] with each code repeated B times in a row.
        let rowShape = Array(codes.shape.dropFirst())
        let repeated = codes.reshaped([n, 1] + rowShape).expanded(to: [n, batch] + rowShape).reshaped([n * batch] + rowShape)
        let f = context.objective(Variable(repeated)).reshaped([n, batch])
        let q = logProbabilities(codes: codes, logits: context.logits, latent: latent).exp()
        let weighted = q * f
        return (weighted.sum(), withoutGradients { weighted.sum(alongAxis: 0).value })
    }

    /// The exact gradient of Σ_b E_{q_b}[f_b] w.r.t. the logits (shape of the logits), with f held fixed
    /// except through the code: what every estimator of the encoder gradient estimates.
    public static func logitGradient<S>(_ context: EstimatorContext<S>) -> Tensor<S> {
        let leaf = Variable(context.logits.value, requiresGradient: true)
        let detachedContext = EstimatorContext(logits: leaf, latent: context.latent, inputs: context.inputs) { z in
            context.objective(z).detached()
        }
        return gradients(of: expectation(detachedContext).total, wrt: [leaf])[0].value
    }
}
