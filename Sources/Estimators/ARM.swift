// ARM, augment-REINFORCE-merge (Yin & Zhou 2019, arXiv 1807.11143), for Bernoulli units.
//
// ĝ_i = (f(b₁) − f(b₂))·(u_i − ½) with the antithetic pair b₁ = 1[u > 1 − σ(a)], b₂ = 1[u < σ(a)];
// UNBIASED, two evaluations of f. BERNOULLI LATENTS ONLY (the registry rejects categorical configs).
// The estimator shares its class with DisARM (DisARM.swift), which integrates u out per unit.
// No options.
import Autodiff
import VAE

public enum ARMDescriptor: EstimatorDescriptor {
    public static let name = "arm"
    public static let summary = "augment-REINFORCE-merge, antithetic pair (Bernoulli only, unbiased)"
    public static let optionKeys: [String] = []
    public static let families: Set<LatentFamily> = [.bernoulli]
    public static func make<S: TensorScalar>(_ options: EstimatorOptions, scalar: S.Type) throws -> any GradientEstimator<S> {
        DisARM<S>(variant: .arm)
    }
}
