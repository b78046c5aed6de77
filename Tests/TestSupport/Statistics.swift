// Statistical tolerances: a bound of k standard errors, the SE computed from the sample count, and
// the probability that a correct implementation fails it (every seed is fixed, so a pass is
// reproducible; the probability says how unlucky a seed would have to be).
import Foundation
import XCTest

/// Tail probabilities of the standard normal, for stating a k-SE bound's false-failure probability.
public enum NormalTail {
    /// P(|Z| > k): a two-sided bound of k standard errors fails a correct estimate this often (5 SE: 5.7e-7).
    public static func twoSided(_ k: Double) -> Double { erfc(k / 2.squareRoot()) }
    /// P(Z > k): the same for a one-sided bound (5 SE: 2.9e-7).
    public static func oneSided(_ k: Double) -> Double { twoSided(k) / 2 }
}

/// Mean, variance (N − 1 denominator) and standard errors of a sample, in Double.
public struct SampleMoments {
    public let count: Int
    public let mean: Double
    public let variance: Double
    /// The fourth central moment m₄ = mean (x − x̄)⁴.
    public let fourthCentralMoment: Double

    public init<C: Collection>(_ values: C) where C.Element == Double {
        let n = Double(values.count)
        precondition(values.count >= 2, "moments of \(values.count) values")
        let mean = values.reduce(0, +) / n
        var squares = 0.0, fourths = 0.0
        for x in values {
            let d = (x - mean) * (x - mean)
            squares += d
            fourths += d * d
        }
        (count, self.mean, variance, fourthCentralMoment) = (values.count, mean, squares / (n - 1), fourths / n)
    }

    /// SE of the mean, s/√N.
    public var standardErrorOfMean: Double { (variance / Double(count)).squareRoot() }
    /// SE of the sample variance estimated from the sample itself, √((m₄ − s⁴)/N).
    public var standardErrorOfVariance: Double { (Swift.max(0, fourthCentralMoment - variance * variance) / Double(count)).squareRoot() }
}

/// Asserts a sample's mean and variance equal a distribution's μ and σ² within `k` standard errors, the
/// SEs from the distribution's own moments: SE(mean) = σ/√N and SE(s²) = σ²·√((κ − 1)/N), κ = μ₄/σ⁴ its
/// kurtosis. A correct sampler fails each bound with probability `NormalTail.twoSided(k)`.
public func assertMoments(_ sample: [Double], mean: Double, variance: Double, kurtosis: Double, standardErrors k: Double,
                          _ name: String, file: StaticString = #filePath, line: UInt = #line) {
    let m = SampleMoments(sample), n = Double(sample.count)
    let seMean = (variance / n).squareRoot()
    let seVariance = variance * ((kurtosis - 1) / n).squareRoot()
    XCTAssertEqual(m.mean, mean, accuracy: k * seMean, "\(name) mean", file: file, line: line)
    XCTAssertEqual(m.variance, variance, accuracy: k * seVariance, "\(name) variance", file: file, line: line)
}

/// Asserts `count` successes in `n` trials match probability p within `k` binomial standard errors
/// √(p(1 − p)/n).
public func assertFrequency(_ count: Int, of n: Int, p: Double, standardErrors k: Double, _ name: String,
                            file: StaticString = #filePath, line: UInt = #line) {
    let se = (p * (1 - p) / Double(n)).squareRoot()
    XCTAssertEqual(Double(count) / Double(n), p, accuracy: k * se, name, file: file, line: line)
}
