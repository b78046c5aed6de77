// Central differences in Float64, and the one tolerance every analytic-vs-numeric derivative check uses
// (the op catalogue in AutodiffTests, the estimators' double-backprop variance gradients, the exact
// oracle's logit gradient).
import Foundation

public enum FiniteDifference {
    /// (f(h) − f(−h)) / 2h, the derivative at 0 of a function of a scalar offset.
    public static func central(step h: Double, _ f: (Double) -> Double) -> Double {
        (f(h) - f(-h)) / (2 * h)
    }

    /// |analytic − numeric| ≤ 1e-6 · max(1, |numeric|).
    ///
    /// Why: with steps h from 1e-6 to 1e-5 on smooth, O(1) functions of O(1) inputs, the central
    /// difference's truncation error h²·f'''/6 is at most ~1e-10 and its rounding error
    /// ~1e-16·|f|/h at most ~1e-10, four orders below 1e-6. A backward rule off by a factor of 2, with
    /// a wrong sign or a missing term changes the derivative by about its own size, and the checks
    /// also require that size to be well above the tolerance (nonzero, or > 1e-3), so such a bug
    /// misses by orders of magnitude.
    public static let relativeTolerance = 1e-6

    /// The absolute tolerance for a comparison with the finite difference `numeric`.
    public static func tolerance(for numeric: Double) -> Double { relativeTolerance * Swift.max(1, Swift.abs(numeric)) }
}
