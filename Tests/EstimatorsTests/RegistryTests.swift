import Autodiff
import Estimators
import TestSupport
import VAE
import XCTest

final class RegistryTests: XCTestCase {
    func testNamesAreUniqueKebabCaseAndBuildable() throws {
        let names = EstimatorRegistry.names
        XCTAssertEqual(Set(names).count, names.count, "duplicate registry names")
        for entry in EstimatorRegistry.all {
            XCTAssertNotNil(entry.name.range(of: #"^[a-z0-9]+(-[a-z0-9]+)*$"#, options: .regularExpression), entry.name)
            XCTAssertFalse(entry.summary.isEmpty)
            for family in entry.families {
                let estimator = try EstimatorRegistry.make(EstimatorOptions(estimator: entry.name), family: family, scalar: Double.self)
                XCTAssertEqual(estimator.name, entry.name)
                XCTAssertTrue(estimator.supports(family))
            }
        }
    }

    /// Each type's static facts agree with themselves and with what the registry lists: the same list at
    /// either scalar, non-empty families, `supports` and the registry's family check both following
    /// `families` for every family, and the options keyed once each (the listing's defaults and rules are
    /// checked in EstimatorListingTests).
    func testEveryEntrysStaticFactsAreConsistent() throws {
        let floats = EstimatorRegistry.types(for: Float.self), doubles = EstimatorRegistry.types(for: Double.self)
        XCTAssertEqual(floats.map { $0.name }, EstimatorRegistry.names)
        XCTAssertEqual(doubles.map { $0.name }, EstimatorRegistry.names)
        for (entry, type) in zip(EstimatorRegistry.all, doubles) {
            XCTAssertEqual(type.summary, entry.summary)
            XCTAssertEqual(type.families, entry.families)
            XCTAssertFalse(entry.families.isEmpty, entry.name)
            XCTAssertEqual(Set(entry.optionKeys).count, entry.optionKeys.count, entry.name)
            let built = try type.make(EstimatorOptions(estimator: entry.name), sizes: .default)
            XCTAssertEqual(built.name, entry.name)
            for family in LatentFamily.allCases {
                XCTAssertEqual(built.supports(family), entry.families.contains(family), "\(entry.name) \(family)")
                let made = Result { try EstimatorRegistry.make(EstimatorOptions(estimator: entry.name), family: family, scalar: Double.self) }
                if entry.families.contains(family) {
                    XCTAssertNoThrow(try made.get(), "\(entry.name) \(family)")
                } else {
                    XCTAssertThrowsError(try made.get()) {
                        XCTAssertEqual($0 as? EstimatorError, .unsupportedFamily(estimator: entry.name, family: family))
                    }
                }
            }
        }
    }

    /// The model's sizes reach `make` as an argument; a config may restate one the estimator reads (a run's
    /// config.json does), and a contradicting one is an error naming the key and the model's value.
    func testModelSizesAreArgumentsAndRestatedOnesMustAgree() throws {
        XCTAssertEqual(try EstimatorRegistry.entry(named: "nvil").modelSizes, [.inputSize])
        XCTAssertEqual(try EstimatorRegistry.entry(named: "relax").modelSizes, [.codeWidth])
        XCTAssertEqual(EstimatorRegistry.all.filter { !$0.modelSizes.isEmpty }.map(\.name), ["nvil", "relax"])
        let sizes = ModelSizes(inputSize: 5, codeWidth: 12)
        let relax = try XCTUnwrap(try EstimatorRegistry.make(EstimatorOptions(estimator: "relax"), sizes: sizes, scalar: Double.self) as? RELAX<Double>)
        XCTAssertEqual(relax.codeWidth, 12)
        let nvil = try XCTUnwrap(try EstimatorRegistry.make(EstimatorOptions(estimator: "nvil", values: ["input_size": .number(5)]),
                                                            sizes: sizes, scalar: Double.self) as? NVIL<Double>)
        XCTAssertEqual(nvil.inputSize, 5)
        XCTAssertThrowsError(try EstimatorRegistry.make(EstimatorOptions(estimator: "relax", values: ["code_width": .number(200)]),
                                                        sizes: sizes, scalar: Double.self)) {
            XCTAssertTrue("\($0)".contains("estimator.code_width") && "\($0)".contains("12"), "\($0)")
        }
        XCTAssertThrowsError(try EstimatorRegistry.make(EstimatorOptions(estimator: "st", values: ["code_width": .number(12)]),
                                                        sizes: sizes, scalar: Double.self)) {
            XCTAssertTrue("\($0)".contains("no option 'code_width'"), "\($0)")
        }
    }

    func testUnknownNamesOptionsAndFamiliesAreClearErrors() {
        XCTAssertThrowsError(try EstimatorRegistry.make(EstimatorOptions(estimator: "reinmx"), scalar: Double.self)) { error in
            XCTAssertTrue("\(error)".contains("unknown estimator 'reinmx'"))
            XCTAssertTrue("\(error)".contains("reinforce"), "lists the valid names")
        }
        XCTAssertThrowsError(try EstimatorRegistry.make(EstimatorOptions(estimator: "st", values: ["samples": .number(3)]), scalar: Double.self)) {
            XCTAssertTrue("\($0)".contains("no option 'samples'") && "\($0)".contains("temperature"))
        }
        XCTAssertThrowsError(try EstimatorRegistry.make(EstimatorOptions(estimator: "reinforce", values: ["baseline": .string("magic")]), scalar: Double.self)) {
            XCTAssertTrue("\($0)".contains("moving-average"))
        }
        if let bernoulliOnly = EstimatorRegistry.all.first(where: { !$0.families.contains(.categorical) }) {
            XCTAssertThrowsError(try EstimatorRegistry.make(EstimatorOptions(estimator: bernoulliOnly.name), family: .categorical, scalar: Double.self)) {
                XCTAssertTrue("\($0)".contains("not defined for categorical"))
            }
        }
    }

    /// Against the explicit matrix (diag p − ppᵀ)g: five O(1) products per entry in Float64, rounding ~1e-16.
    func testSoftmaxJacobianProductMatchesTheMatrixAndSumsToZero() {
        var rng = RandomStream(seed: 2)
        let p = Tensor<Double>.gumbel([3, 5], using: &rng).softmax()
        let g = Tensor<Double>.gumbel([3, 5], using: &rng)
        let jg = softmaxJacobianProduct(Variable(p), Variable(g)).value
        for row in 0..<3 {
            var total = 0.0
            for i in 0..<5 {
                var expected = 0.0
                for j in 0..<5 {
                    let pi = p[flat: row * 5 + i], pj = p[flat: row * 5 + j]
                    expected += ((i == j ? pi : 0) - pi * pj) * g[flat: row * 5 + j]
                }
                XCTAssertEqual(jg[flat: row * 5 + i], expected, accuracy: 1e-14)
                total += jg[flat: row * 5 + i]
            }
            XCTAssertEqual(total, 0, accuracy: 1e-14)
        }
    }

    /// The oracle itself: Σ q = 1 over the enumerated codes, and its logit gradient matches central
    /// differences of the exact expectation.
    func testExactExpectationGradientMatchesFiniteDifferences() {
        for latent in [LatentSpec.categorical(2, 3), .bernoulli(3)] {
            var rng = RandomStream(seed: 4)
            let logits = Tensor<Double>.gumbel(latent.logitShape(batch: 2), using: &rng)
            let weights = Tensor<Double>.gumbel([latent.codeWidth], using: &rng)
            // A nonlinear objective of the code: f(z) = Σ_d sin-free smooth terms, here (w·z)² + w·z.
            let objective: (Variable<Double>) -> Variable<Double> = { z in
                let flat = latent.flatten(z)
                let s = (flat * Variable(weights)).sum(alongAxis: -1)
                return s * s + s
            }
            func exact(_ l: Tensor<Double>) -> Double {
                ExactExpectation.expectation(EstimatorContext(logits: Variable(l), latent: latent, objective: objective)).total.value.scalar
            }
            let codes: Tensor<Double> = ExactExpectation.allCodes(latent)
            let q = ExactExpectation.logProbabilities(codes: codes, logits: Variable(logits), latent: latent).value.exp()
            // Σ over ≤ 27 codes of exp(log q): rounding ~1e-15.
            for b in 0..<2 { XCTAssertEqual((0..<codes.shape[0]).reduce(0.0) { $0 + q[flat: $1 * 2 + b] }, 1, accuracy: 1e-12) }
            let grad = ExactExpectation.logitGradient(EstimatorContext(logits: Variable(logits), latent: latent, objective: objective))
            for i in 0..<logits.count {
                let fd = FiniteDifference.central(step: 1e-6) { h in
                    var shifted = logits.scalars
                    shifted[i] += h
                    return exact(Tensor(shape: logits.shape, scalars: shifted))
                }
                XCTAssertEqual(grad[flat: i], fd, accuracy: FiniteDifference.tolerance(for: fd), "\(latent) coordinate \(i)")
            }
        }
    }

    /// The conditional Gumbel sample always has the conditioning class as its argmax, even for
    /// extreme logits, and stays finite.
    func testConditionalGumbelReproducesTheArgmax() {
        var rng = RandomStream(seed: 8)
        let logits = Tensor<Double>(shape: [4, 3], scalars: [0, 0, 0, 50, -50, 0, -50, 50, 0, 1e-3, -20, 3])
        for _ in 0..<200 {
            let code = LatentSpec.categorical(4, 3).sample(logits: logits.reshaped([1, 4, 3]), rng: &rng).reshaped([4, 3])
            // Condition on a random class too, including very unlikely ones.
            let forced = Tensor<Double>.oneHot(indices: Tensor<Double>.categoricalIndices(logits: Tensor(zeros: [4, 3]), using: &rng), classes: 3)
            for c in [code, forced] {
                let z = ConditionalGumbel.sample(logits: Variable(logits), code: c, rng: &rng).value
                XCTAssertTrue(z.isFinite)
                XCTAssertEqual(z.argmax().scalars, c.argmax().scalars)
            }
        }
    }
}
