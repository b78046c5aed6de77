// The discrete latent space: its layout, its prior, and the distribution math on encoder logits that
// both the model (KL) and the estimators (log q, sampling) share.
import Autodiff

public enum LatentFamily: String, Codable, Sendable, CaseIterable {
    /// L independent categorical variables with C classes each, uniform prior. Logits [B, L, C].
    case categorical
    /// N independent Bernoulli units, Bernoulli(0.5) or learned prior. Logits [B, N].
    case bernoulli
}

public struct LatentSpec: Codable, Sendable, Equatable, CustomStringConvertible {
    public var family: LatentFamily
    /// Categorical variables (L) or Bernoulli units (N).
    public var variables: Int
    /// Classes per categorical variable (C); 2 for Bernoulli units (a unit is a 2-class variable).
    public var classes: Int

    public init(family: LatentFamily, variables: Int, classes: Int) {
        self.family = family
        self.variables = variables
        self.classes = family == .bernoulli ? 2 : classes
    }

    public static func categorical(_ variables: Int, _ classes: Int) -> LatentSpec {
        LatentSpec(family: .categorical, variables: variables, classes: classes)
    }
    public static func bernoulli(_ units: Int) -> LatentSpec { LatentSpec(family: .bernoulli, variables: units, classes: 2) }

    /// Parses the ReinMax paper's naming, the inverse of `description`: "CxL" (classes × variables,
    /// "4x24" is 24 variables of 4 classes) for categorical, "N" for N Bernoulli units. Nil if malformed.
    public init?(shape text: String) {
        let parts = text.lowercased().split(separator: "x", omittingEmptySubsequences: false).map { Int($0) }
        guard parts.count == 1 || parts.count == 2, parts.allSatisfy({ ($0 ?? 0) >= 1 }) else { return nil }
        self = parts.count == 2 ? .categorical(parts[1]!, parts[0]!) : .bernoulli(parts[0]!)
    }

    /// Width of the flattened code the decoder reads: L·C for categorical (one-hot), N for Bernoulli.
    public var codeWidth: Int { family == .categorical ? variables * classes : variables }

    /// Shape of a batch of logits (and of codes): [B, L, C] or [B, N].
    public func logitShape(batch: Int) -> [Int] {
        family == .categorical ? [batch, variables, classes] : [batch, variables]
    }

    /// Number of distinct codes, C^L or 2^N (nil if it overflows), for exact enumeration.
    public var codeCount: Int? {
        var total = 1
        for _ in 0..<variables {
            let (next, overflow) = total.multipliedReportingOverflow(by: classes)
            if overflow { return nil }
            total = next
        }
        return total
    }

    /// The ReinMax paper's naming, classes × variables: "4x24" is 24 variables with 4 classes each.
    public var description: String { family == .categorical ? "\(classes)x\(variables)" : "\(variables) bernoulli" }
}

// MARK: - Distribution math on logits

extension LatentSpec {
    /// log q(z) per example for a code z (one-hot [B,L,C] or binary [B,N]), differentiable in the logits.
    public func logProbability<S>(of code: Tensor<S>, logits: Variable<S>) -> Variable<S> {
        switch family {
        case .categorical:
            return (logits.logSoftmax() * Variable(code)).sum(alongAxis: -1).sum(alongAxis: -1)
        case .bernoulli:
            // b·log σ(a) + (1−b)·log σ(−a) = b·a − softplus(a)
            return (Variable(code) * logits - logits.softplus()).sum(alongAxis: -1)
        }
    }

    /// Analytic KL(q(z|x) ‖ p(z)) per example. Categorical prior: uniform. Bernoulli prior: logits
    /// `priorLogits` ([N], learnable) or Bernoulli(0.5) when nil.
    public func kl<S>(logits: Variable<S>, priorLogits: Variable<S>? = nil) -> Variable<S> {
        switch family {
        case .categorical:
            let logQ = logits.logSoftmax()
            let q = logQ.exp()
            return (q * (logQ + S.log(S(classes)))).sum(alongAxis: -1).sum(alongAxis: -1)
        case .bernoulli:
            if let prior = priorLogits { return logits.bernoulliKLTerms(prior: prior).sum(alongAxis: -1) }  // fused
            let q = logits.sigmoid()
            let logQ1 = logits.logSigmoid(), logQ0 = (-logits).logSigmoid()
            let logP = Variable(Tensor(-S.log(2)))
            return (q * (logQ1 - logP) + (1 - q) * (logQ0 - logP)).sum(alongAxis: -1)
        }
    }

    /// log p(z) per example under the prior.
    public func logPrior<S>(of code: Tensor<S>, priorLogits: Variable<S>? = nil) -> Variable<S> {
        switch family {
        case .categorical:
            return Variable(Tensor(-S(variables) * S.log(S(classes))).expanded(to: [code.shape[0]]))
        case .bernoulli:
            guard let prior = priorLogits else {
                return Variable(Tensor(-S(variables) * S.log(2)).expanded(to: [code.shape[0]]))
            }
            return (Variable(code) * prior - prior.softplus()).sum(alongAxis: -1)
        }
    }

    /// Draws a code from q: one-hot [B,L,C] by Gumbel-max, or binary [B,N].
    public func sample<S>(logits: Tensor<S>, rng: inout RandomStream) -> Tensor<S> {
        switch family {
        case .categorical:
            return Tensor.oneHot(indices: Tensor.categoricalIndices(logits: logits, using: &rng), classes: classes)
        case .bernoulli:
            return Tensor.bernoulli(logits: logits, using: &rng)
        }
    }

    /// The decoder's view of a code: [B, L, C] -> [B, L·C] (Bernoulli codes are already flat).
    public func flatten<S>(_ code: Variable<S>) -> Variable<S> {
        family == .categorical ? code.reshaped([code.shape[0], codeWidth]) : code
    }
}
